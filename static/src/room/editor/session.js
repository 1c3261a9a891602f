// One open document: a Y.Doc synced over /ws/docs/<doc_id> by the stock y-websocket
// provider, bound to a CodeMirror view by y-codemirror.next.
//
// The session cookie authenticates the socket. Undo is Y.UndoManager's (only this
// person's edits), so CodeMirror's own history is not installed. Edits made offline stay
// in the Y.Doc and the provider's sync step on reconnect merges them; they are also kept
// in this browser's IndexedDB (y-indexeddb), so a tab closed while offline sends them on
// the next visit, and the page asks before closing while any are unsent.
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching,
  defaultHighlightStyle,
  foldGutter,
  foldKeymap,
  indentOnInput,
  syntaxHighlighting,
} from "@codemirror/language";
import { highlightSelectionMatches, search, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState } from "@codemirror/state";
import {
  EditorView,
  crosshairCursor,
  drawSelection,
  dropCursor,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from "@codemirror/view";
import { IndexeddbPersistence } from "y-indexeddb";
import { WebsocketProvider } from "y-websocket";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import * as Y from "yjs";

import { guardAwarenessColors, safeColor } from "../../common/color.js";
import { agentCursors } from "./agents.js";
import { cursorsOfViewers } from "./cursors.js";
import { indentExtension } from "./indent.js";
import { languageExtension } from "./languages.js";

// Close codes after which reconnecting cannot help (editor/core/closecodes.py).
const REFUSALS = {
  4001: "Your session has ended. Log in again to keep editing.",
  4003: "You no longer have access to this room.",
  4004: "This file no longer exists, or is not a text document.",
  4009: "An edit was too big for the server. Reload the page.",
  4400: "The server could not read a message from this page. Reload the page.",
};

/** The shared text's name on the server (editor/collab/documents.py TEXT_NAME). */
export const TEXT_NAME = "content";

export function docServerUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws/docs`;
}

/** The page's CSP nonce for CodeMirror's <style> elements (webapp/settings.py, CSP). */
function cspNonce() {
  const meta = document.querySelector('meta[name="csp-nonce"]');
  return meta ? meta.content : "";
}

export class DocSession extends EventTarget {
  constructor({ file, user, readOnly, parent, extensions = null }) {
    super();
    this.file = file;
    this.docId = file.doc_id;
    this.readOnly = readOnly;
    this.state = "syncing";
    this.refusal = null;
    this.ydoc = new Y.Doc();
    this.ytext = this.ydoc.getText(TEXT_NAME);
    // Per person and document: someone else signing in on this browser never sends them.
    this.local = new IndexeddbPersistence(`flint-doc-${user.id}-${file.doc_id}`, this.ydoc);
    this.unsent = false; // this tab's edits made while not synced, not yet sent
    this.provider = new WebsocketProvider(docServerUrl(), file.doc_id, this.ydoc, {
      // Each tab talks to the server: the indicator then tells the truth about this tab.
      disableBc: true,
      maxBackoffTime: 10000,
    });
    this.awareness = this.provider.awareness;
    // Before yCollab's listener: remote colours are checked before they reach a style.
    guardAwarenessColors(this.awareness);
    // The server replaces this with the profile it knows (editor/collab/awareness.py); it
    // is set here too so that this page's own state looks the same before the round trip.
    const color = safeColor(user.color);
    this.awareness.setLocalStateField("user", {
      id: user.id,
      username: user.username,
      name: user.name,
      color,
      colorLight: `${color}33`,
    });
    this.undoManager = new Y.UndoManager(this.ytext);
    this.editable = new Compartment();
    this.language = new Compartment();
    this.indent = new Compartment();
    this.ydoc.on("update", (update, origin) => {
      if (origin !== this.provider && origin !== this.local && !this.provider.synced) this.unsent = true;
    });
    this.provider.on("status", () => this.updateState());
    this.provider.on("sync", () => this.updateState());
    this.provider.on("connection-close", (event) => this.onClose(event));
    this.onlineListener = () => this.updateState();
    window.addEventListener("online", this.onlineListener);
    window.addEventListener("offline", this.onlineListener);

    this.dom = document.createElement("div");
    this.dom.className = "editor-host";
    this.dom.dataset.docId = file.doc_id;
    parent.append(this.dom);
    this.view = new EditorView({
      parent: this.dom,
      state: EditorState.create({
        doc: this.ytext.toString(),
        extensions: [
          EditorView.cspNonce.of(cspNonce()),
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightSpecialChars(),
          foldGutter(),
          drawSelection(),
          dropCursor(),
          EditorState.allowMultipleSelections.of(true),
          indentOnInput(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          bracketMatching(),
          closeBrackets(),
          rectangularSelection(),
          crosshairCursor(),
          highlightActiveLine(),
          highlightSelectionMatches(),
          search({ top: true }),
          keymap.of([
            ...yUndoManagerKeymap,
            ...closeBracketsKeymap,
            ...defaultKeymap,
            ...searchKeymap,
            ...foldKeymap,
            indentWithTab,
          ]),
          this.language.of(languageExtension(file.language)),
          // Until the text arrives, the language's usual unit; detected once it has.
          this.indent.of(indentExtension("", file.language)),
          this.editable.of(this.editableExtension(readOnly)),
          // Remote cursors of the people viewing this file only, as the presence list says.
          yCollab(this.ytext, cursorsOfViewers(this.awareness, this.docId), { undoManager: this.undoManager }),
          agentCursors(this.awareness, this.ydoc),
          EditorView.updateListener.of((update) => {
            if (update.selectionSet || update.docChanged) this.emit("cursor", this.cursorInfo());
          }),
          // Extra features (the assistant) get the session: its ydoc, text and file.
          extensions ? extensions(this) : [],
        ],
      }),
    });
    this.updateState();
  }

  editableExtension(readOnly) {
    // Viewers can still move their cursor and select (so others see where they look),
    // but no transaction of theirs changes the text; the server drops their updates too.
    // A viewer who types is told why nothing happens (index.js shows it), not left guessing.
    const refused = () => {
      this.emit("readonly-attempt", {});
      return false;
    };
    return readOnly
      ? [EditorState.readOnly.of(true), EditorView.domEventHandlers({ beforeinput: refused, paste: refused, drop: refused })]
      : [];
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.view.dispatch({ effects: this.editable.reconfigure(this.editableExtension(readOnly)) });
  }

  setFile(file) {
    const languageChanged = file.language !== this.file.language;
    this.file = file;
    if (languageChanged) {
      this.view.dispatch({ effects: this.language.reconfigure(languageExtension(file.language)) });
      this.detectIndent();
    }
  }

  /** Use the indent unit the text already has (four spaces in most Python files). */
  detectIndent() {
    const text = this.view.state.doc.toString();
    this.view.dispatch({ effects: this.indent.reconfigure(indentExtension(text, this.file.language)) });
  }

  onClose(event) {
    const code = event && event.code;
    if (REFUSALS[code]) {
      this.refusal = { code, message: REFUSALS[code] };
      this.provider.disconnect(); // a decision, not a network problem: stop retrying
      this.updateState();
    }
  }

  updateState() {
    let state;
    if (this.refusal) state = "refused";
    else if (!this.provider.wsconnected) state = "offline";
    else if (!this.provider.synced) state = "syncing";
    else state = "synced";
    if (state === this.state && state !== "refused") return;
    // Synced: the server answered this tab's sync step, which carried every edit it lacked.
    if (state === "synced") this.unsent = false;
    if (state === "synced" && !this.indentDetected) {
      this.indentDetected = true;
      this.detectIndent();
    }
    this.state = state;
    this.emit("state", { state, refusal: this.refusal });
  }

  /** Edits the server may not have: made while offline, or still in the socket's buffer. */
  hasUnsent() {
    const ws = this.provider.ws;
    return this.unsent || Boolean(ws && ws.bufferedAmount > 0);
  }

  cursorInfo() {
    const head = this.view.state.selection.main.head;
    const line = this.view.state.doc.lineAt(head);
    return { line: line.number, column: head - line.from + 1 };
  }

  /** The people with this document open (by awareness), except this tab. */
  peers() {
    const out = [];
    for (const [clientId, state] of this.awareness.getStates()) {
      // A deep task's presence (editor/agents.js draws it) is not a person to follow.
      if (clientId === this.ydoc.clientID || !state.user || state.user.agent) continue;
      out.push({ clientId, ...state });
    }
    return out;
  }

  /** Scroll to someone's cursor in this document; false when they have none here. */
  revealPeer(userId) {
    const peer = this.peers().find((p) => p.user.id === userId && p.cursor && p.cursor.head);
    if (!peer) return false;
    const head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(peer.cursor.head), this.ydoc);
    if (!head) return false;
    const pos = Math.min(head.index, this.view.state.doc.length);
    this.view.dispatch({ effects: EditorView.scrollIntoView(pos, { y: "center" }) });
    return true;
  }

  show(visible) {
    this.dom.hidden = !visible;
    if (visible) this.view.requestMeasure();
  }

  focus() {
    this.view.focus();
  }

  destroy() {
    window.removeEventListener("online", this.onlineListener);
    window.removeEventListener("offline", this.onlineListener);
    const unsent = this.hasUnsent();
    this.provider.destroy();
    // A closed tab with nothing unsent needs no local copy; one with unsent edits keeps it.
    if (unsent) this.local.destroy();
    else this.local.clearData();
    this.view.destroy();
    this.undoManager.destroy();
    this.ydoc.destroy();
    this.dom.remove();
  }
}
