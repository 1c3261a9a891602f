// The assistant in the room: inline completion, quick edit and the shared Q&A panel, all
// over the room socket's `assist.*` messages (docs/PROTOCOL.md, "AI streams on the room
// socket"; the UI's decisions are in static/src/room/assist/README.md).
//
// The hub routes server frames by request_id to whoever is showing that request: a
// ghost text, a quick-edit diff, a chat answer. Quick edits and answers others asked
// for are adopted when their `assist.start` arrives (the server broadcasts those to the
// room with who asked).
import { RoomChat } from "./chat.js";
import { QuickEdits } from "./edits.js";
import { quickEdit } from "./edits-view.js";
import { inlineCompletion } from "./inline.js";
import { DEMO_TEXT } from "./labels.js";

const DEFAULT_DEBOUNCE_MS = 150;

class Hub {
  constructor(socket, meId) {
    this.socket = socket;
    this.meId = meId;
    this.handlers = new Map(); // request id -> {start, delta, done, error}
    this.authors = new Map(); // request id -> user id of whoever started it
  }

  /**
   * Whether a room-wide frame is from the person who started its request id. Request ids
   * are chosen by pages, so another member could start a stream under someone's id to
   * write into their proposal; the server stamps every room-wide frame with its author
   * (`by`), and the first author seen for an id keeps it.
   */
  fromAuthor(frame) {
    if (frame.by === undefined || typeof frame.request_id !== "string") return true; // to this socket only
    const author = this.authors.get(frame.request_id);
    if (author === undefined) {
      this.authors.set(frame.request_id, frame.by);
      return true;
    }
    return author === frame.by;
  }

  send(message, handler) {
    this.authors.set(message.request_id, this.meId());
    this.handlers.set(message.request_id, handler);
    if (!this.socket.send(message)) {
      this.handlers.delete(message.request_id);
      handler.error({
        kind: "offline",
        message: "Not connected to the room right now; try again when the connection is back.",
        partial: false,
      });
    }
  }

  adopt(id, handler) {
    this.handlers.set(id, handler);
  }

  dispatch(frame) {
    const handler = this.handlers.get(frame.request_id);
    if (!handler) return false;
    const kind = frame.type.slice("assist.".length);
    if (kind === "done" || kind === "error") this.handlers.delete(frame.request_id);
    if (handler[kind]) handler[kind](frame);
    return true;
  }

  /** The socket dropped: every stream in flight is lost with it (the server stops them). */
  lost() {
    const handlers = [...this.handlers.values()];
    this.handlers.clear();
    for (const handler of handlers) {
      handler.error({ kind: "offline", message: "The connection dropped mid-answer.", partial: true, text: null });
    }
  }
}

export class Assistant extends EventTarget {
  constructor({ socket, editor, me, role, root }) {
    super();
    this.socket = socket;
    this.editor = editor;
    this.me = me;
    this.role = role;
    this.root = root;
    this.hub = new Hub(socket, () => this.me.id);
    this.edits = new QuickEdits(this);
    const configured = Number(root.dataset.assistDebounceMs);
    this.debounceMs = Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_DEBOUNCE_MS;
    this.demoBadge = root.querySelector("[data-assist-demo]");
    this.notices = root.querySelector("[data-assist-notice]");
    this.chat = new RoomChat({ assistant: this, root });
    for (const tab of root.querySelectorAll("[data-assist-tab]")) {
      tab.addEventListener("click", () => this.showTab(tab.dataset.assistTab));
    }
    this.setRole(role);
  }

  /** CodeMirror extensions for one open document (EditorArea.extensionsFor). */
  extensionsFor(session) {
    return [inlineCompletion({ assistant: this, session }), quickEdit({ assistant: this, session })];
  }

  canAsk() {
    return Boolean(this.role) && this.role !== "viewer"; // the server checks too (ROOM_EDIT)
  }

  setMe(me) {
    this.me = { ...this.me, ...me };
  }

  setRole(role) {
    this.role = role;
    this.chat.setCanAsk(this.canAsk());
  }

  showTab(name) {
    for (const tab of this.root.querySelectorAll("[data-assist-tab]")) tab.setAttribute("aria-selected", String(tab.dataset.assistTab === name));
    for (const panel of this.root.querySelectorAll("[data-assist-panel]")) panel.hidden = panel.dataset.assistPanel !== name;
  }

  /** The active tab's file and editor session (null when none, or not a text file). */
  active() {
    const tab = this.editor.tabs.get(this.editor.active);
    return { file: tab ? tab.file : null, session: tab ? tab.session : null };
  }

  /** Other open files, a little of each, as context for an inline completion. */
  snippets(session, max, chars) {
    const out = [];
    for (const { session: other } of this.editor.tabs.values()) {
      if (!other || other === session || out.length >= max) continue;
      const text = other.view.state.doc.sliceString(0, chars);
      if (text.trim()) out.push({ path: other.file.path, text });
    }
    return out;
  }

  startEditOfSelection(session, instruction) {
    return this.edits.startOfSelection(session, instruction);
  }

  request(message, handler) {
    this.hub.send(message, handler);
  }

  cancel(requestId) {
    this.socket.send({ type: "assist.cancel", request_id: requestId });
  }

  feedback(requestId, event) {
    this.socket.send({ type: "assist.feedback", request_id: requestId, event });
  }

  notice(text) {
    this.notices.textContent = text;
    this.notices.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notices.hidden = true), 8000);
  }

  // --- the room socket -------------------------------------------------------------------

  connected() {
    // Viewers read along live, so they get the history too (the server allows it).
    this.socket.send({ type: "assist.history" });
  }

  disconnected() {
    this.hub.lost();
  }

  onMessage(frame) {
    if (frame.type === "assist.history") {
      for (const message of frame.messages || []) {
        if (message.who && !this.hub.authors.has(message.request_id)) this.hub.authors.set(message.request_id, message.who.id);
      }
      this.chat.history(frame.messages || []);
      return;
    }
    if (!this.hub.fromAuthor(frame)) return;
    if (frame.type === "assist.start") {
      if (frame.demo) this.demoBadge.hidden = false;
      if (!this.hub.handlers.has(frame.request_id)) {
        if (frame.feature === "quick_edit") this.edits.adopt(frame);
        else if (frame.feature === "qa") this.chat.adopt(frame);
      }
    }
    if (this.hub.dispatch(frame)) return;
    if (frame.type === "assist.error" && !frame.request_id) this.notice(`${frame.message}`);
  }
}

export { DEMO_TEXT };
