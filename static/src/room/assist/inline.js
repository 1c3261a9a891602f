// Inline completion: ghost text at the cursor after a pause in typing.
//
// After DEBOUNCE ms without typing, the file around the cursor (prefix, suffix) and
// snippets of the other open files go out as `assist.complete`; the streamed answer shows
// greyed at the cursor. Tab inserts it through the view (an ordinary local edit: undoable,
// synced to everyone), Esc dismisses it. Typing on, moving away or a newer request makes
// it stale: the old stream is cancelled upstream at once. Shown / accepted / dismissed go
// back as `assist.feedback` (the acceptance rate admins read).
import { Prec, StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, ViewPlugin, WidgetType, keymap } from "@codemirror/view";

import { el, kindTitle, modelBadges, newRequestId } from "./labels.js";

const PREFIX_CHARS = 12_000; // the server trims further to the model's context
const SUFFIX_CHARS = 4_000;
const SNIPPET_CHARS = 2_000;
const MAX_SNIPPETS = 8;
const ERROR_SHOWN_MS = 6_000;

const setGhost = StateEffect.define();

/** The ghost at the cursor: {id, pos, text, start, status, error}, or null. */
const ghostField = StateField.define({
  create: () => null,
  update(ghost, tr) {
    if (ghost && tr.docChanged) {
      // Your own typing makes it stale; others' edits elsewhere only move it.
      if (tr.isUserEvent("input") || tr.isUserEvent("delete") || tr.isUserEvent("undo") || tr.isUserEvent("redo")) ghost = null;
      else ghost = { ...ghost, pos: tr.changes.mapPos(ghost.pos, 1) };
    }
    if (ghost && tr.selection && tr.selection.main.head !== ghost.pos) ghost = null;
    for (const effect of tr.effects) if (effect.is(setGhost)) ghost = effect.value;
    return ghost;
  },
});

/**
 * The ghost's decorations. The editor does not wrap lines, but a ghost must stay in
 * sight: its first line shows at the cursor, wrapping within the room left on screen
 * (--assist-ghost-room, measured by ghostRoom); the lines after it show as a block below
 * the cursor's line, from the left margin as they would be inserted, wrapping within the
 * visible width (--assist-ghost-width). The Tab hint and model badges follow the last line.
 */
const ghostDecorations = EditorView.decorations.compute([ghostField], (state) => {
  const ghost = state.field(ghostField);
  if (!ghost || (!ghost.text && !ghost.error)) return Decoration.none;
  const [first, ...rest] = (ghost.text || "").split("\n");
  const parts = [Decoration.widget({ widget: new GhostWidget(ghost, first, !rest.length), side: 1 }).range(ghost.pos)];
  if (rest.length) {
    const lineEnd = state.doc.lineAt(ghost.pos).to;
    parts.push(Decoration.widget({ widget: new GhostWidget(ghost, rest.join("\n"), true, true), side: 1, block: true }).range(lineEnd));
  }
  return Decoration.set(parts);
});

class GhostWidget extends WidgetType {
  constructor(ghost, text, last, block = false) {
    super();
    this.ghost = ghost;
    this.text = text;
    this.last = last; // the part that carries the Tab hint (and the toast)
    this.block = block;
  }

  eq(other) {
    const a = this.ghost;
    const b = other.ghost;
    return a.id === b.id && this.text === other.text && this.last === other.last && a.status === b.status && a.error === b.error;
  }

  toDOM() {
    const { error, status, start } = this.ghost;
    const wrap = el(this.block ? "div" : "span", this.block ? "cm-assist-ghost-more" : "cm-assist-ghost");
    wrap.dataset.assistGhost = status;
    if (this.text) wrap.append(el("span", "cm-assist-ghost-text", this.text));
    if (!this.last) return wrap;
    const tag = el("span", "cm-assist-ghost-tag");
    if (error) {
      wrap.classList.add("has-error");
      const toast = el("span", "cm-assist-toast", `${kindTitle(error.kind)}: ${error.message}`);
      toast.dataset.assistToast = error.kind;
      toast.setAttribute("role", "status");
      if (this.ghost.text) toast.textContent += " Tab keeps what arrived.";
      tag.append(toast);
    } else if (this.ghost.text) {
      tag.append(el("span", "cm-assist-key", "Tab"));
    }
    tag.append(modelBadges(start, { compact: true }));
    wrap.append(tag);
    return wrap;
  }

  ignoreEvent() {
    return false;
  }
}

const MIN_ROOM_PX = 160; // a caret at the right edge: the ghost still gets some width

/** Measures how much width a ghost has on screen (see ghostDecorations). */
const ghostRoom = ViewPlugin.fromClass(
  class {
    constructor(view) {
      this.view = view;
    }

    update(update) {
      const ghost = update.state.field(ghostField);
      if (!ghost) return;
      if (ghost !== update.startState.field(ghostField) || update.geometryChanged) this.measure();
    }

    measure() {
      const view = this.view;
      view.requestMeasure({
        key: this,
        read: () => {
          const ghost = view.state.field(ghostField, false);
          const at = ghost && view.coordsAtPos(ghost.pos, -1); // the caret, not the widget after it
          if (!at) return null;
          const screen = view.scrollDOM.getBoundingClientRect();
          const right = Math.min(screen.right, document.documentElement.clientWidth) - 16;
          const lineLeft = view.contentDOM.getBoundingClientRect().left;
          return { room: Math.max(right - at.left, MIN_ROOM_PX), width: Math.max(right - Math.max(lineLeft, screen.left), MIN_ROOM_PX) };
        },
        write: (size) => {
          if (!size) return;
          view.dom.style.setProperty("--assist-ghost-room", `${Math.floor(size.room)}px`);
          view.dom.style.setProperty("--assist-ghost-width", `${Math.floor(size.width)}px`);
        },
      });
    }
  },
);

/** The CodeMirror extension for one open document. */
export function inlineCompletion({ assistant, session }) {
  const plugin = ViewPlugin.fromClass(
    class {
      constructor(view) {
        this.view = view;
        this.timer = null;
        this.current = null; // {id, pos, text, shown, accepted, streaming, start}
      }

      update(update) {
        const typed = update.transactions.some((tr) => tr.isUserEvent("input.type") || tr.isUserEvent("delete") || tr.isUserEvent("input.paste"));
        const before = update.startState.field(ghostField);
        const after = update.state.field(ghostField);
        if (before && (!after || after.id !== before.id)) this.retire(before.id);
        if (typed) this.schedule();
        else if (update.selectionSet && !after) clearTimeout(this.timer);
      }

      schedule() {
        clearTimeout(this.timer);
        if (!assistant.canAsk()) return;
        this.timer = setTimeout(() => this.request(), assistant.debounceMs);
      }

      /** A ghost went away without Tab: stop its stream, and count it dismissed if seen. */
      retire(id) {
        const current = this.current;
        if (!current || current.id !== id) return;
        if (current.streaming) assistant.cancel(id);
        if (current.shown && !current.accepted) assistant.feedback(id, "dismissed");
        this.current = null;
      }

      request() {
        const { view } = this;
        const { state } = view;
        const range = state.selection.main;
        if (!range.empty || !view.hasFocus || !assistant.canAsk() || session.readOnly) return;
        const pos = range.head;
        const id = newRequestId("c", assistant.me);
        const current = { id, pos, text: "", shown: false, accepted: false, streaming: true, start: null };
        const old = this.current;
        this.current = current;
        if (old && old.streaming) assistant.cancel(old.id);
        view.dispatch({ effects: setGhost.of({ id, pos, text: "", status: "waiting", start: null, error: null }) });
        assistant.request(
          {
            type: "assist.complete",
            request_id: id,
            path: session.file.path,
            prefix: state.doc.sliceString(Math.max(0, pos - PREFIX_CHARS), pos),
            suffix: state.doc.sliceString(pos, Math.min(state.doc.length, pos + SUFFIX_CHARS)),
            snippets: assistant.snippets(session, MAX_SNIPPETS, SNIPPET_CHARS),
          },
          {
            start: (frame) => {
              current.start = frame;
              this.show(current, "streaming");
            },
            delta: (frame) => {
              current.text += frame.text;
              this.show(current, "streaming");
            },
            done: (frame) => {
              current.streaming = false;
              if (frame.status !== "ok") return;
              this.show(current, "done");
            },
            error: (frame) => {
              current.streaming = false;
              const error = { kind: frame.kind, message: frame.message };
              if (frame.partial && frame.text) current.text = frame.text;
              this.show(current, "error", error);
              setTimeout(() => {
                const ghost = this.view.state.field(ghostField, false);
                // The toast goes; a partial suggestion stays until typed over or dismissed.
                if (ghost && ghost.id === id && ghost.error && !ghost.text) this.view.dispatch({ effects: setGhost.of(null) });
              }, ERROR_SHOWN_MS);
            },
          },
        );
      }

      show(current, status, error = null) {
        const ghost = this.view.state.field(ghostField, false);
        if (!ghost || ghost.id !== current.id) return; // stale: typed on or moved away
        this.view.dispatch({ effects: setGhost.of({ ...ghost, text: current.text, status, start: current.start, error }) });
        if (current.text && !current.shown) {
          current.shown = true;
          assistant.feedback(current.id, "shown");
        }
      }

      accept() {
        const ghost = this.view.state.field(ghostField, false);
        if (!ghost || !ghost.text || !this.current || this.current.id !== ghost.id) return false;
        const current = this.current;
        current.accepted = true;
        if (current.streaming) {
          assistant.cancel(current.id); // keep what is shown, stop the rest
          current.streaming = false;
        }
        assistant.feedback(current.id, "accepted");
        this.view.dispatch({
          changes: { from: ghost.pos, insert: ghost.text },
          selection: { anchor: ghost.pos + ghost.text.length },
          effects: setGhost.of(null),
          userEvent: "input.complete",
          scrollIntoView: true,
        });
        return true;
      }

      dismiss() {
        const ghost = this.view.state.field(ghostField, false);
        if (!ghost) return false;
        this.view.dispatch({ effects: setGhost.of(null) });
        return true;
      }

      destroy() {
        clearTimeout(this.timer);
        if (this.current && this.current.streaming) assistant.cancel(this.current.id);
      }
    },
  );
  const keys = Prec.highest(
    keymap.of([
      { key: "Tab", run: (view) => (view.plugin(plugin) ? view.plugin(plugin).accept() : false) },
      { key: "Escape", run: (view) => (view.plugin(plugin) ? view.plugin(plugin).dismiss() : false) },
    ]),
  );
  return [ghostField, ghostDecorations, ghostRoom, plugin, keys];
}
