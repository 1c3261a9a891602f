// Quick edit: select code, Ctrl/Cmd-K, say what to change; the replacement streams in as
// a live inline diff that everyone with the file open sees, with who asked.
//
// Decisions (static/src/room/assist/README.md):
// - Only the page that asked accepts or rejects (all, or hunk by hunk): one person
//   decides, so a change is never applied twice. Others see the diff and who decides,
//   and can hide it for themselves.
// - The selection is anchored with Yjs relative positions; accepting resolves them in
//   the live document, so the change lands in the right place whatever others typed
//   elsewhere meanwhile. The change goes through the view in one transaction, so it
//   syncs like typing and the person who accepted can undo it (Ctrl-Z).
// - The server has no "resolved" message: the asker's page says which edits are closed
//   (and what it rejected hunk by hunk) in the document's Yjs awareness, which everyone
//   showing the diff has, since they have the same document open.
import { Prec, StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, ViewPlugin, WidgetType, keymap, showTooltip } from "@codemirror/view";
import * as Y from "yjs";

import { diffLines, hunkChange, revertHunk } from "./diff.js";
import { el, kindTitle, modelBadges, newRequestId, partialLabel } from "./labels.js";

const CONTEXT_BEFORE = 8_000;
const CONTEXT_AFTER = 4_000;
const AWARENESS_FIELD = "assistEdits";
const MAX_PUBLISHED_PROPOSAL = 20_000;
const AWARENESS_BUDGET_BYTES = 5_000; // of the server's 8 KB per state; the rest is cursor, user, viewing

const addRange = StateEffect.define(); // {id, from, to}
const dropRange = StateEffect.define(); // id
const refresh = StateEffect.define();
const openPrompt = StateEffect.define(); // {from, to} | null

// A fenced answer followed by prose: the code, then a note from the model (the demo
// model says there what it could not do).
const FENCE_THEN_NOTE = /^```[\w+-]*\n([\s\S]*?)\n?```[ \t]*\n\s*\n([\s\S]+)$/;

/** The model's note after a fenced answer, once the answer is finished ("" if none). */
export function replacementNote(text, finished) {
  const match = finished ? FENCE_THEN_NOTE.exec(text) : null;
  return match ? match[2].trim() : "";
}

/** The text a finished answer proposes: fences dropped, the selection's final newline kept. */
export function cleanReplacement(text, selection, finished) {
  let out = text;
  const fenced = /^```[\w+-]*\n([\s\S]*?)\n?```\s*$/.exec(out) || (finished && FENCE_THEN_NOTE.exec(out));
  if (finished && fenced) out = fenced[1] + (selection.endsWith("\n") ? "\n" : "");
  if (finished && selection.endsWith("\n") && !out.endsWith("\n") && out) out += "\n";
  return out;
}

export function proposalOf(entry) {
  if (entry.proposed !== null) return entry.proposed;
  return cleanReplacement(entry.text, entry.selection, entry.status !== "streaming" && entry.status !== "waiting");
}

/** Everything about the quick edits this page knows of, shared by all its editors. */
export class QuickEdits {
  constructor(assistant) {
    this.assistant = assistant;
    this.entries = new Map(); // request id -> entry
    this.views = new Set(); // {view, session}
    this.closedByMe = []; // ids this page closed, published in awareness
    this.proposedByMe = {}; // id -> proposal after rejected hunks
  }

  // --- the life of an edit -------------------------------------------------------------

  /** Ask for an edit of [from, to) of this session's document. */
  start(session, view, from, to, instruction) {
    const assistant = this.assistant;
    const doc = view.state.doc;
    const selection = doc.sliceString(from, to);
    const anchor = {
      doc_id: session.docId,
      start: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(session.ytext, from, 0)),
      end: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(session.ytext, to, -1)),
    };
    const id = newRequestId("e", assistant.me);
    const entry = this.entry({
      id,
      mine: true,
      who: assistant.me,
      instruction,
      selection,
      path: session.file.path,
      anchor,
    });
    view.dispatch({ effects: addRange.of({ id, from, to }) });
    assistant.request(
      {
        type: "assist.edit",
        request_id: id,
        path: session.file.path,
        selection,
        instruction,
        before: doc.sliceString(Math.max(0, from - CONTEXT_BEFORE), from),
        after: doc.sliceString(to, Math.min(doc.length, to + CONTEXT_AFTER)),
        anchor,
      },
      this.handler(entry),
    );
    return entry;
  }

  entry(fields) {
    const entry = {
      text: "",
      status: "waiting",
      error: null,
      start: null,
      proposed: null,
      hidden: false,
      closed: false,
      version: 0,
      ...fields,
    };
    this.entries.set(entry.id, entry);
    return entry;
  }

  /** Someone else's edit started (assist.start, broadcast to the room). */
  adopt(frame) {
    const entry = this.entry({
      id: frame.request_id,
      mine: false,
      who: frame.who || { name: "Someone" },
      instruction: frame.instruction || "",
      selection: frame.selection || "",
      path: frame.path || "",
      anchor: frame.anchor || null,
    });
    this.assistant.hub.adopt(frame.request_id, this.handler(entry));
    return entry;
  }

  handler(entry) {
    return {
      start: (frame) => {
        entry.start = frame;
        entry.status = "streaming";
        this.changed(entry);
      },
      delta: (frame) => {
        entry.text += frame.text;
        entry.status = "streaming";
        this.changed(entry);
      },
      done: (frame) => {
        if (frame.status === "ok") {
          entry.status = "done";
          if (typeof frame.text === "string") entry.text = frame.text; // the whole answer
          entry.done = frame;
        } else {
          entry.status = "cancelled";
          if (typeof frame.text === "string") entry.text = frame.text;
          entry.error = { kind: "cancelled", message: "Stopped." };
        }
        this.changed(entry);
      },
      error: (frame) => {
        entry.status = "error";
        entry.error = { kind: frame.kind, message: frame.message };
        if (frame.partial && frame.text) entry.text = frame.text;
        this.changed(entry);
      },
    };
  }

  changed(entry) {
    entry.version += 1;
    for (const { view, session } of this.views) {
      if (!entry.anchor || entry.anchor.doc_id !== session.docId) continue;
      const known = view.state.field(editsField).ranges.has(entry.id);
      if (known) view.dispatch({ effects: refresh.of(null) });
      else {
        const range = this.locate(entry, session, view);
        if (range) view.dispatch({ effects: addRange.of({ id: entry.id, ...range }) });
      }
    }
  }

  /** Where an edit's selection is in this document now (Yjs anchors, else by its text). */
  locate(entry, session, view) {
    const resolved = resolveAnchor(entry.anchor, session);
    if (resolved) return resolved;
    const at = view.state.doc.toString().indexOf(entry.selection);
    return at >= 0 && entry.selection ? { from: at, to: at + entry.selection.length } : null;
  }

  // --- decisions (the asking page only) ------------------------------------------------

  /** Apply all hunks (index null) or one, in one transaction the accepter can undo. */
  accept(id, view, session, index = null) {
    const entry = this.entries.get(id);
    if (!entry || !entry.mine) return;
    const range = resolveAnchor(entry.anchor, session);
    if (!range) {
      entry.error = { kind: "gone", message: "The selected code is gone from the file; nothing was changed." };
      this.changed(entry);
      return;
    }
    const region = view.state.doc.sliceString(range.from, range.to);
    const proposal = proposalOf(entry);
    const hunks = diffLines(region, proposal);
    const chosen = index === null ? hunks : [pickHunk(hunks, this.shownHunk(view, id, index))].filter(Boolean);
    if (chosen.length) {
      const changes = chosen.map((hunk) => {
        const change = hunkChange(region, hunk);
        return { from: range.from + change.from, to: range.from + change.to, insert: change.insert };
      });
      const tr = view.state.update({ changes, userEvent: "input.assist", scrollIntoView: false });
      view.dispatch(tr);
      // Re-anchor on the new text (the old start may have been replaced).
      const from = tr.changes.mapPos(range.from, -1);
      const to = tr.changes.mapPos(range.to, 1);
      entry.anchor = {
        ...entry.anchor,
        start: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(session.ytext, from, 0)),
        end: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(session.ytext, to, -1)),
      };
      view.dispatch({ effects: [dropRange.of(id), addRange.of({ id, from, to })] });
    }
    const left = diffLines(view.state.doc.sliceString(...rangeOf(view, id)), proposal);
    if (!left.length || index === null) this.close(entry, session);
    else this.changed(entry);
  }

  /** Reject one hunk (the proposal keeps the old lines there) or the whole edit. */
  reject(id, view, session, index = null) {
    const entry = this.entries.get(id);
    if (!entry || !entry.mine) return;
    if (index === null) {
      if (entry.status === "streaming" || entry.status === "waiting") this.assistant.cancel(id);
      this.close(entry, session);
      return;
    }
    const region = view.state.doc.sliceString(...rangeOf(view, id));
    const hunk = pickHunk(diffLines(region, proposalOf(entry)), this.shownHunk(view, id, index));
    if (!hunk) return;
    entry.proposed = revertHunk(proposalOf(entry), hunk);
    if (!diffLines(region, entry.proposed).length) this.close(entry, session);
    else {
      if (entry.proposed.length <= MAX_PUBLISHED_PROPOSAL) this.proposedByMe[id] = entry.proposed;
      this.publish(session);
      this.changed(entry);
    }
  }

  shownHunk(view, id, index) {
    const shown = view.state.field(editsField).hunks.get(id);
    return shown ? { index, hunk: shown[index] } : { index, hunk: null };
  }

  stop(id) {
    this.assistant.cancel(id);
  }

  /** Hide someone else's edit on this page only. */
  hide(id) {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.hidden = true;
    this.changed(entry);
  }

  close(entry, session) {
    entry.closed = true;
    if (entry.mine) {
      this.closedByMe = [...this.closedByMe.filter((id) => id !== entry.id), entry.id].slice(-30);
      delete this.proposedByMe[entry.id];
      this.publish(session);
    }
    this.changed(entry);
  }

  publish(session) {
    const field = publishable(this.closedByMe, this.proposedByMe);
    for (const { session: other } of this.views) {
      if (other.docId !== session.docId) continue;
      other.awareness.setLocalStateField(AWARENESS_FIELD, field);
    }
  }

  /** Another page said (in awareness) which of its edits are closed or narrowed. */
  fromAwareness(session) {
    for (const [clientId, state] of session.awareness.getStates()) {
      if (clientId === session.ydoc.clientID || !state[AWARENESS_FIELD] || !state.user) continue;
      const { closed = [], proposed = {} } = state[AWARENESS_FIELD];
      if (!Array.isArray(closed) || !proposed || typeof proposed !== "object") continue;
      // Only the asker decides: a state counts for the edits of the person it is from
      // (the server sets `user` from the socket's login, editor/collab/awareness.py).
      const byAuthor = (entry) => entry && !entry.mine && entry.who && entry.who.id === state.user.id;
      for (const id of closed) {
        const entry = this.entries.get(id);
        if (byAuthor(entry) && !entry.closed) {
          entry.closed = true;
          this.changed(entry);
        }
      }
      for (const [id, text] of Object.entries(proposed)) {
        const entry = this.entries.get(id);
        if (byAuthor(entry) && typeof text === "string" && entry.proposed !== text) {
          entry.proposed = text;
          this.changed(entry);
        }
      }
    }
  }

  attach(view, session) {
    const item = { view, session, onAwareness: () => this.fromAwareness(session) };
    this.views.add(item);
    session.awareness.on("change", item.onAwareness);
    for (const entry of this.entries.values()) if (entry.anchor && entry.anchor.doc_id === session.docId && !entry.closed) this.changed(entry);
    return item;
  }

  detach(item) {
    this.views.delete(item);
    item.session.awareness.off("change", item.onAwareness);
  }
}

/**
 * What fits in this page's awareness state: the server drops a state over 8 KB
 * (editor/collab/awareness.py MAX_STATE_BYTES), cursor and all. Narrowed proposals go
 * newest first while they fit; one left out shows others the unnarrowed diff until the
 * edit is closed, which is always published.
 */
function publishable(closed, proposedByMe) {
  const encoder = new TextEncoder();
  const proposed = {};
  let size = encoder.encode(JSON.stringify({ closed, proposed })).length;
  for (const [id, text] of Object.entries(proposedByMe).reverse()) {
    const more = encoder.encode(JSON.stringify({ [id]: text })).length;
    if (size + more > AWARENESS_BUDGET_BYTES) continue;
    proposed[id] = text;
    size += more;
  }
  return { closed, proposed };
}

function resolveAnchor(anchor, session) {
  if (!anchor || anchor.doc_id !== session.docId) return null;
  try {
    const start = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(anchor.start), session.ydoc);
    const end = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(anchor.end), session.ydoc);
    if (!start || !end || start.type !== session.ytext || end.type !== session.ytext) return null;
    return { from: Math.min(start.index, end.index), to: Math.max(start.index, end.index) };
  } catch {
    return null; // a malformed anchor from someone's page: fall back to finding the text
  }
}

function rangeOf(view, id) {
  const range = view.state.field(editsField).ranges.get(id);
  return range ? [range.from, range.to] : [0, 0];
}

/** The hunk the person clicked, found again in a fresh diff by its content. */
function pickHunk(hunks, { index, hunk }) {
  if (hunk) {
    const same = hunks.find((h) => h.oldLines.join("\n") === hunk.oldLines.join("\n") && h.newLines.join("\n") === hunk.newLines.join("\n"));
    if (same) return same;
  }
  return hunks[index] || null;
}

// --- rendering ---------------------------------------------------------------------------

let edits = null; // the page's QuickEdits (one assistant per page)

const editsField = StateField.define({
  create: () => ({ ranges: new Map(), hunks: new Map(), deco: Decoration.none }),
  update(value, tr) {
    let ranges = value.ranges;
    let dirty = tr.docChanged;
    if (tr.docChanged) {
      ranges = new Map();
      for (const [id, { from, to }] of value.ranges) ranges.set(id, { from: tr.changes.mapPos(from, -1), to: tr.changes.mapPos(to, 1) });
    }
    for (const effect of tr.effects) {
      if (effect.is(addRange)) {
        ranges = new Map(ranges);
        ranges.set(effect.value.id, { from: effect.value.from, to: effect.value.to });
        dirty = true;
      } else if (effect.is(dropRange)) {
        ranges = new Map(ranges);
        ranges.delete(effect.value);
        dirty = true;
      } else if (effect.is(refresh)) dirty = true;
    }
    if (!dirty) return value;
    return build(tr.state, ranges);
  },
  provide: (field) => EditorView.decorations.from(field, (value) => value.deco),
});

function build(state, ranges) {
  const doc = state.doc;
  const decos = [];
  const hunksById = new Map();
  for (const [id, { from, to }] of ranges) {
    const entry = edits && edits.entries.get(id);
    if (!entry || entry.closed || entry.hidden) continue;
    const region = doc.sliceString(from, to);
    const decided = entry.status === "done" || entry.status === "error" || entry.status === "cancelled";
    const hunks = entry.text || entry.proposed !== null ? diffLines(region, proposalOf(entry)) : [];
    hunksById.set(id, hunks);
    const header = new HeaderWidget(entry, hunks.length);
    decos.push(Decoration.widget({ widget: header, block: true, side: -1 }).range(doc.lineAt(from).from));
    const starts = [0];
    for (let k = region.indexOf("\n"); k !== -1; k = region.indexOf("\n", k + 1)) starts.push(k + 1);
    const marked = new Set();
    hunks.forEach((hunk, index) => {
      for (let line = hunk.oldStart; line < hunk.oldEnd; line += 1) {
        // A selection ending in a newline has an empty last "line" at its end: that is
        // the start of the next line of the file, not part of the selection.
        if (line > 0 && line === starts.length - 1 && from + starts[line] === to) continue;
        const docLine = doc.lineAt(from + starts[line]);
        if (marked.has(docLine.number)) continue;
        marked.add(docLine.number);
        decos.push(Decoration.line({ class: "cm-qe-del", attributes: { "data-qe-del": id } }).range(docLine.from));
      }
      const widget = new HunkWidget(entry, index, hunk, entry.mine && decided && hunks.length > 1);
      if (hunk.oldEnd > hunk.oldStart) {
        decos.push(Decoration.widget({ widget, block: true, side: 1 }).range(doc.lineAt(from + starts[hunk.oldEnd - 1]).to));
      } else if (hunk.oldStart < starts.length) {
        decos.push(Decoration.widget({ widget, block: true, side: -1 }).range(doc.lineAt(from + starts[hunk.oldStart]).from));
      } else {
        decos.push(Decoration.widget({ widget, block: true, side: 1 }).range(doc.lineAt(to).to));
      }
    });
  }
  return { ranges, hunks: hunksById, deco: Decoration.set(decos, true) };
}

function whoName(who) {
  return (who && (who.name || who.username)) || "Someone";
}

class HeaderWidget extends WidgetType {
  constructor(entry, hunkCount) {
    super();
    this.entry = entry;
    this.key = `${entry.id}:${entry.version}:${hunkCount}`;
    this.hunkCount = hunkCount;
  }

  eq(other) {
    return other.key === this.key;
  }

  toDOM(view) {
    const entry = this.entry;
    const me = edits.assistant.me;
    const box = el("div", "cm-qe-head");
    box.dataset.qeHead = entry.id;
    box.dataset.qeStatus = entry.status;
    if (entry.who && entry.who.color) box.style.setProperty("--who", entry.who.color);
    const line = el("div", "cm-qe-line");
    const who = el("span", "cm-qe-who", entry.mine ? "You" : whoName(entry.who));
    who.dataset.qeWho = whoName(entry.who);
    line.append(who, el("span", "cm-qe-asked", " asked: "), el("span", "cm-qe-instruction", entry.instruction));
    box.append(line);
    const meta = el("div", "cm-qe-meta");
    meta.append(modelBadges(entry.start));
    const status = el("span", "cm-qe-status");
    status.dataset.qeStatusText = "";
    if (entry.status === "waiting") status.textContent = "Asking the model…";
    else if (entry.status === "streaming") status.append(el("span", "assist-spinner"), document.createTextNode(" Writing…"));
    else if (entry.status === "done") status.textContent = this.hunkCount ? `${this.hunkCount} change${this.hunkCount > 1 ? "s" : ""}` : "No changes proposed";
    meta.append(status);
    box.append(meta);
    const note = replacementNote(entry.text, entry.status === "done");
    if (note) {
      const noteBox = el("div", "cm-qe-model-note", note);
      noteBox.dataset.qeModelNote = "";
      box.append(noteBox);
    }
    if (entry.error) {
      const error = el("div", "cm-qe-error");
      error.dataset.qeError = entry.error.kind;
      error.setAttribute("role", "alert");
      error.append(el("strong", "", `${kindTitle(entry.error.kind)}: `), document.createTextNode(entry.error.message));
      if (entry.text && entry.error.kind !== "gone") error.append(el("span", "assist-partial", ` ${partialLabel(entry.error.kind, "diff below")}`));
      box.append(error);
    }
    const actions = el("div", "cm-qe-actions");
    const button = (label, cls, run, data) => {
      const b = el("button", `btn small ${cls}`, label);
      b.type = "button";
      b.dataset.qeAction = data;
      b.addEventListener("mousedown", (event) => event.preventDefault()); // keep the editor's selection
      b.addEventListener("click", run);
      actions.append(b);
    };
    const session = sessionOf(view);
    if (entry.mine) {
      if (entry.status === "streaming" || entry.status === "waiting") button("Stop", "secondary", () => edits.stop(entry.id), "stop");
      else {
        if (this.hunkCount) button(this.hunkCount > 1 ? "Accept all" : "Accept", "", () => edits.accept(entry.id, view, session), "accept");
        button(this.hunkCount ? "Reject" : "Close", "secondary", () => edits.reject(entry.id, view, session), "reject");
      }
    } else {
      const note = entry.who && entry.who.id === me.id ? "You asked in another tab: decide there." : `${whoName(entry.who)} decides whether to apply it.`;
      actions.append(el("span", "cm-qe-note", note));
      button("Hide", "secondary", () => edits.hide(entry.id), "hide");
    }
    box.append(actions);
    return box;
  }

  ignoreEvent() {
    return true;
  }
}

class HunkWidget extends WidgetType {
  constructor(entry, index, hunk, decide) {
    super();
    this.entry = entry;
    this.index = index;
    this.decide = decide;
    this.key = `${entry.id}:${index}:${decide}:${hunk.newLines.join("\n")}`;
    this.hunk = hunk;
  }

  eq(other) {
    return other.key === this.key;
  }

  toDOM(view) {
    const box = el("div", "cm-qe-add");
    box.dataset.qeHunk = String(this.index);
    for (const line of this.hunk.newLines) box.append(el("div", "cm-qe-add-line", line || " "));
    if (this.decide) {
      const session = sessionOf(view);
      const bar = el("div", "cm-qe-hunk-actions");
      for (const [label, run, data] of [
        ["Accept this", () => edits.accept(this.entry.id, view, session, this.index), "accept-hunk"],
        ["Reject this", () => edits.reject(this.entry.id, view, session, this.index), "reject-hunk"],
      ]) {
        const b = el("button", "cm-qe-mini", label);
        b.type = "button";
        b.dataset.qeAction = data;
        b.addEventListener("mousedown", (event) => event.preventDefault());
        b.addEventListener("click", run);
        bar.append(b);
      }
      box.append(bar);
    }
    return box;
  }

  ignoreEvent() {
    return true;
  }
}

const sessions = new WeakMap(); // view -> session

function sessionOf(view) {
  return sessions.get(view);
}

// --- the prompt ----------------------------------------------------------------------------

const promptField = StateField.define({
  create: () => null,
  update(value, tr) {
    if (value && tr.docChanged) value = { ...value, from: tr.changes.mapPos(value.from, -1), to: tr.changes.mapPos(value.to, 1) };
    for (const effect of tr.effects) if (effect.is(openPrompt)) value = effect.value;
    return value;
  },
  provide: (field) =>
    showTooltip.from(field, (value) => (value ? { pos: value.from, above: true, strictSide: false, arrow: false, create: value.create } : null)),
});

function promptTooltip(view) {
  const dom = el("div", "cm-qe-prompt");
  dom.dataset.qePrompt = "";
  const form = el("form", "cm-qe-form");
  const input = el("input", "cm-qe-input");
  input.type = "text";
  input.placeholder = "Edit the selection: e.g. add type hints";
  input.setAttribute("aria-label", "What should change in the selection");
  input.maxLength = 4000;
  form.append(input);
  const hint = el("div", "cm-qe-hint", "Enter to ask the fast model · Esc to cancel · everyone here sees the diff");
  dom.append(form, hint);
  const close = () => {
    view.dispatch({ effects: openPrompt.of(null) });
    view.focus();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = view.state.field(promptField);
    const instruction = input.value.trim();
    if (!value || !instruction) return;
    close();
    // The selection would paint over the diff: leave the cursor at the end of it instead.
    view.dispatch({ selection: { anchor: value.to } });
    edits.start(sessionOf(view), view, value.from, value.to, instruction);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
    event.stopPropagation();
  });
  return { dom, mount: () => input.focus() };
}

function openEditPrompt(view) {
  if (!edits || !edits.assistant.canAsk() || view.state.readOnly) return false;
  let { from, to } = view.state.selection.main;
  if (from === to) {
    // Nothing selected: the line the cursor is on.
    const line = view.state.doc.lineAt(from);
    from = line.from;
    to = line.to;
  }
  view.dispatch({ effects: openPrompt.of({ from, to, create: promptTooltip }) });
  return true;
}

/** The CodeMirror extension for one open document. */
export function quickEdit({ assistant, session }) {
  edits = assistant.edits;
  const plugin = ViewPlugin.define((view) => {
    sessions.set(view, session);
    let item = null;
    // Attach after construction: it may dispatch, which a plugin constructor must not.
    const timer = setTimeout(() => {
      item = edits.attach(view, session);
    });
    return {
      destroy() {
        clearTimeout(timer);
        if (item) edits.detach(item);
      },
    };
  });
  const keys = Prec.highest(
    keymap.of([
      { key: "Mod-k", run: openEditPrompt, preventDefault: true },
      { key: "Escape", run: (view) => (view.state.field(promptField) ? (view.dispatch({ effects: openPrompt.of(null) }), true) : false) },
    ]),
  );
  return [editsField, promptField, plugin, keys];
}

/** Start a quick edit of the active editor's selection (the Q&A panel's "Apply" button). */
export function startEditOfSelection(session, instruction) {
  const view = session.view;
  const { from, to } = view.state.selection.main;
  if (from === to) return false;
  edits.start(session, view, from, to, instruction);
  return true;
}
