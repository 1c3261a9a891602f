// Quick edit, the CodeMirror side: where each edit is in the document (a state field
// mapped through every change) and its inline diff, with who asked and, on the asking
// page, the buttons that decide. The edits themselves live in edits.js.
import { StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, ViewPlugin, WidgetType } from "@codemirror/view";

import { diffLines } from "./diff.js";
import { editPrompt } from "./edits-prompt.js";
import { proposalOf, replacementNote } from "./edits.js";
import { el, kindTitle, modelBadges, partialLabel } from "./labels.js";

const addRange = StateEffect.define(); // {id, from, to}
const dropRange = StateEffect.define(); // id
const refresh = StateEffect.define();

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

/** How the model reaches where a view shows each edit (QuickEdits.attach). */
function rangesOf(view) {
  const field = () => view.state.field(editsField);
  return {
    has: (id) => field().ranges.has(id),
    get: (id) => {
      const range = field().ranges.get(id);
      return range ? [range.from, range.to] : null;
    },
    hunks: (id) => field().hunks.get(id),
    add: (id, from, to) => view.dispatch({ effects: addRange.of({ id, from, to }) }),
    move: (id, from, to) => view.dispatch({ effects: [dropRange.of(id), addRange.of({ id, from, to })] }),
    refresh: () => view.dispatch({ effects: refresh.of(null) }),
  };
}

/** The CodeMirror extension for one open document. */
export function quickEdit({ assistant, session }) {
  edits = assistant.edits;
  const plugin = ViewPlugin.define((view) => {
    sessions.set(view, session);
    let item = null;
    // Attach after construction: it may dispatch, which a plugin constructor must not.
    const timer = setTimeout(() => {
      item = edits.attach(view, session, rangesOf(view));
    });
    return {
      destroy() {
        clearTimeout(timer);
        if (item) edits.detach(item);
      },
    };
  });
  return [editsField, plugin, editPrompt({ edits, session })];
}
