// Quick edit: select code, Ctrl/Cmd-K, say what to change; the replacement streams in as
// a live inline diff that everyone with the file open sees, with who asked.
//
// This module is the model: the edits this page knows of, the decisions on them, and
// their sync through the document's awareness. edits-view.js draws them in CodeMirror;
// edits-prompt.js is the Ctrl/Cmd-K prompt.
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
import * as Y from "yjs";

import { diffLines, hunkChange, revertHunk } from "./diff.js";
import { newRequestId } from "./labels.js";

const CONTEXT_BEFORE = 8_000;
const CONTEXT_AFTER = 4_000;
const AWARENESS_FIELD = "assistEdits";
const MAX_PUBLISHED_PROPOSAL = 20_000;
const AWARENESS_BUDGET_BYTES = 5_000; // of the server's 8 KB per state; the rest is cursor, user, viewing

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
    this.views = new Map(); // CodeMirror view -> {view, session, ranges, onAwareness}
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
    this.views.get(view)?.ranges.add(id, from, to);
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
    for (const { view, session, ranges } of this.views.values()) {
      if (!entry.anchor || entry.anchor.doc_id !== session.docId) continue;
      if (ranges.has(entry.id)) ranges.refresh();
      else {
        const range = this.locate(entry, session, view);
        if (range) ranges.add(entry.id, range.from, range.to);
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
      this.views.get(view)?.ranges.move(id, from, to);
    }
    const left = diffLines(view.state.doc.sliceString(...this.rangeOf(view, id)), proposal);
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
    const region = view.state.doc.sliceString(...this.rangeOf(view, id));
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
    const shown = this.views.get(view)?.ranges.hunks(id);
    return shown ? { index, hunk: shown[index] } : { index, hunk: null };
  }

  /** Where the view shows an edit now, as [from, to). */
  rangeOf(view, id) {
    return this.views.get(view)?.ranges.get(id) || [0, 0];
  }

  /** Start a quick edit of a session's selection (the Q&A panel's "Apply" button). */
  startOfSelection(session, instruction) {
    const view = session.view;
    const { from, to } = view.state.selection.main;
    if (from === to) return false;
    this.start(session, view, from, to, instruction);
    return true;
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
    for (const { session: other } of this.views.values()) {
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

  /**
   * Show the edits in a view of a session's document; `ranges` is how the view keeps
   * where each edit is (edits-view.js): has, get, hunks, add, move, refresh.
   */
  attach(view, session, ranges) {
    const item = { view, session, ranges, onAwareness: () => this.fromAwareness(session) };
    this.views.set(view, item);
    session.awareness.on("change", item.onAwareness);
    for (const entry of this.entries.values()) if (entry.anchor && entry.anchor.doc_id === session.docId && !entry.closed) this.changed(entry);
    return item;
  }

  detach(item) {
    this.views.delete(item.view);
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

/** The hunk the person clicked, found again in a fresh diff by its content. */
function pickHunk(hunks, { index, hunk }) {
  if (hunk) {
    const same = hunks.find((h) => h.oldLines.join("\n") === hunk.oldLines.join("\n") && h.newLines.join("\n") === hunk.newLines.join("\n"));
    if (same) return same;
  }
  return hunks[index] || null;
}
