// Room Q&A: one conversation the whole room shares. A question (with the open file and
// the selection as context) streams its answer to everyone; history loads on connect.
import { safeColor } from "../../common/color.js";
import { DEMO_TEXT, el, kindTitle, modelBadges, newRequestId, partialLabel } from "./labels.js";
import { renderAnswer } from "./markdown.js";

const MAX_FILE_CHARS = 400_000; // the protocol's limit; the server trims to the model
const MAX_SELECTION_CHARS = 200_000;
const MAX_INSTRUCTION_CHARS = 4_000;

export class RoomChat {
  constructor({ assistant, root }) {
    this.assistant = assistant;
    this.root = root;
    this.log = root.querySelector("[data-assist-log]");
    this.empty = root.querySelector("[data-assist-log-empty]");
    this.form = root.querySelector("[data-assist-form]");
    this.input = root.querySelector("[data-assist-question]");
    this.context = root.querySelector("[data-assist-context]");
    this.viewerNote = root.querySelector("[data-assist-viewer-note]");
    this.turns = new Map(); // request id -> {question, answer, body, foot, text, ...}
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.ask();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.ask();
      }
    });
    this.input.addEventListener("focus", () => this.renderContext());
    // A hidden log (the Tasks tab in front, a folded pane) has no height, so it cannot be
    // scrolled: whether the reader follows the newest message is kept, and when the log
    // shows again it scrolls to the newest if they were.
    this.atEnd = true;
    this.shown = this.log.clientHeight > 0;
    this.log.addEventListener("scroll", () => {
      if (this.log.clientHeight > 0) this.atEnd = this.nearEnd();
    });
    new ResizeObserver(() => {
      const shown = this.log.clientHeight > 0;
      if (shown && !this.shown && this.atEnd) this.toEnd();
      this.shown = shown;
    }).observe(this.log);
  }

  nearEnd() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
  }

  toEnd() {
    this.log.scrollTop = this.log.scrollHeight;
    this.atEnd = true;
  }

  setCanAsk(can) {
    this.form.querySelector("button[type=submit]").disabled = !can;
    this.input.disabled = !can;
    this.viewerNote.hidden = can;
    // Viewers need neither what a question would include nor the editing keys.
    this.context.hidden = !can;
    for (const hint of this.root.querySelectorAll(".assist-keys")) hint.hidden = !can;
  }

  renderContext() {
    const { session } = this.assistant.active();
    if (!session) {
      this.context.textContent = "No file open: the model sees the project's most relevant files.";
      return;
    }
    const sel = session.view.state.selection.main;
    const lines = sel.empty ? 0 : session.view.state.doc.lineAt(sel.to).number - session.view.state.doc.lineAt(sel.from).number + 1;
    this.context.textContent = `With ${session.file.path}${lines ? ` and the selected ${lines} line${lines > 1 ? "s" : ""}` : ""}`;
  }

  ask() {
    const question = this.input.value.trim();
    if (!question || !this.assistant.canAsk()) return;
    const { session } = this.assistant.active();
    const request = { type: "assist.ask", request_id: newRequestId("q", this.assistant.me), question, path: "", file_text: "", selection: "" };
    if (session) {
      const { state } = session.view;
      const sel = state.selection.main;
      request.path = session.file.path;
      request.file_text = state.doc.sliceString(0, MAX_FILE_CHARS);
      request.selection = state.doc.sliceString(sel.from, Math.min(sel.to, sel.from + MAX_SELECTION_CHARS));
    }
    this.input.value = "";
    const turn = this.turn(request.request_id, { who: this.assistant.me, question, path: request.path, mine: true });
    this.assistant.request(request, this.handler(turn));
  }

  /** Someone else's question started streaming (assist.start, broadcast to the room). */
  adopt(frame) {
    const turn = this.turn(frame.request_id, { who: frame.who, question: frame.question || "", path: frame.path || "", mine: false });
    this.assistant.hub.adopt(frame.request_id, this.handler(turn));
  }

  handler(turn) {
    return {
      start: (frame) => {
        turn.start = frame;
        turn.status = "streaming";
        this.renderAnswer(turn);
      },
      // The model's reasoning summary (never raw reasoning): a "thinking" line that the
      // answer replaces as soon as its first text arrives.
      thinking: (frame) => {
        turn.thinking += frame.text;
        this.renderAnswer(turn);
      },
      delta: (frame) => {
        turn.text += frame.text;
        this.renderAnswer(turn);
      },
      done: (frame) => {
        if (typeof frame.text === "string") turn.text = frame.text;
        turn.status = frame.status === "ok" ? "ok" : "cancelled";
        this.renderAnswer(turn);
      },
      error: (frame) => {
        turn.status = frame.kind;
        turn.error = frame.message;
        if (frame.partial && frame.text) turn.text = frame.text;
        this.renderAnswer(turn);
      },
    };
  }

  turn(id, { who, question, path, mine, created }) {
    const turn = { id, who, question, path, mine, text: "", thinking: "", status: "waiting", start: null, error: "" };
    this.empty.hidden = true;
    const q = el("div", "assist-msg question");
    q.dataset.qaQuestion = id;
    const head = el("div", "assist-msg-head");
    const name = el("span", "assist-who", mine ? "You" : (who && (who.name || who.username)) || "Someone");
    if (who && who.color) name.style.setProperty("--who", safeColor(who.color));
    head.append(name);
    if (path) head.append(el("span", "assist-path mono", path));
    if (created) head.append(el("time", "assist-time", new Date(created).toLocaleString()));
    q.append(head, el("div", "assist-msg-text", question));
    const a = el("div", "assist-msg answer");
    a.dataset.qaAnswer = id;
    turn.meta = el("div", "assist-msg-head");
    turn.body = el("div", "assist-msg-body");
    turn.foot = el("div", "assist-msg-foot");
    a.append(turn.meta, turn.body, turn.foot);
    turn.question_el = q;
    turn.answer_el = a;
    this.log.append(q, a);
    this.turns.set(id, turn);
    this.renderAnswer(turn);
    this.toEnd(); // a new question: show it
    return turn;
  }

  renderAnswer(turn) {
    const stick = this.log.clientHeight > 0 ? this.nearEnd() : this.atEnd;
    turn.answer_el.dataset.status = turn.status;
    turn.meta.replaceChildren(el("span", "assist-who model", "Fast model"));
    if (turn.start) turn.meta.append(modelBadges(turn.start));
    else if (turn.model) turn.meta.append(modelBadges({ tier: turn.tier, model: turn.model })); // from history
    renderAnswer(turn.body, turn.text, (code) => this.codeActions(code));
    if (turn.thinking && !turn.text && (turn.status === "waiting" || turn.status === "streaming")) {
      const line = el("div", "assist-thinking");
      line.dataset.qaThinking = "";
      const summary = turn.thinking.trim();
      line.append(el("span", "assist-thinking-label", "Thinking"), el("span", "assist-thinking-text", summary.length > 280 ? `…${summary.slice(-280)}` : summary));
      turn.body.replaceChildren(line);
    }
    turn.foot.replaceChildren();
    if (turn.status === "waiting") turn.foot.append(el("span", "assist-spinner"), document.createTextNode(" Asking…"));
    else if (turn.status === "streaming") turn.foot.append(el("span", "assist-spinner"), document.createTextNode(" Answering…"));
    if ((turn.status === "waiting" || turn.status === "streaming") && turn.mine) {
      const stop = el("button", "btn small secondary", "Stop");
      stop.type = "button";
      stop.dataset.qaStop = "";
      stop.addEventListener("click", () => this.assistant.cancel(turn.id));
      turn.foot.append(stop);
    }
    if (turn.status === "cancelled") turn.foot.append(el("span", "assist-partial", turn.text ? partialLabel("cancelled") : "Stopped before any answer."));
    if (turn.error) {
      const error = el("div", "assist-error");
      error.dataset.qaError = turn.status;
      error.setAttribute("role", "alert");
      error.append(el("strong", "", `${kindTitle(turn.status)}: `), document.createTextNode(turn.error));
      turn.foot.append(error);
      if (turn.text) turn.foot.append(el("span", "assist-partial", partialLabel(turn.status)));
    } else if (!turn.status && !turn.text) {
      turn.foot.append(el("span", "assist-partial", "No answer was stored for this question."));
    } else if (!["ok", "waiting", "streaming", "cancelled"].includes(turn.status) && turn.status) {
      // A stored answer whose stream failed (history says which way).
      turn.foot.append(el("span", "assist-partial", turn.text ? partialLabel(turn.status) : `${kindTitle(turn.status)}: no answer.`));
    }
    if (stick) this.toEnd();
  }

  codeActions(code) {
    const copy = el("button", "assist-code-btn", "Copy");
    copy.type = "button";
    copy.dataset.codeCopy = "";
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(code);
        copy.textContent = "Copied";
      } catch {
        copy.textContent = "Copy failed: select the code";
      }
      setTimeout(() => (copy.textContent = "Copy"), 1500);
    });
    const apply = el("button", "assist-code-btn", "Apply as quick edit");
    apply.type = "button";
    apply.dataset.codeApply = "";
    apply.title = "Ask the fast model to replace the editor's selection with this code; review the diff before it lands";
    apply.hidden = !this.assistant.canAsk();
    apply.addEventListener("click", () => {
      const instruction = `Replace the selection with this code, adapted to fit where it goes:\n\`\`\`\n${code}\n\`\`\``;
      if (instruction.length > MAX_INSTRUCTION_CHARS) {
        this.assistant.notice("That code block is too long to send as a quick edit; copy it instead.");
        return;
      }
      const { session } = this.assistant.active();
      if (!session || !this.assistant.startEditOfSelection(session, instruction)) {
        this.assistant.notice("Select the code to replace in the editor first, then press Apply.");
      }
    });
    return [copy, apply];
  }

  /** assist.history: the stored conversation, oldest first. */
  history(messages) {
    for (const turn of this.turns.values()) {
      if (turn.status !== "waiting" && turn.status !== "streaming") {
        turn.question_el.remove();
        turn.answer_el.remove();
        this.turns.delete(turn.id);
      }
    }
    const live = new Set(this.turns.keys());
    const pending = new Map();
    for (const message of messages) {
      if (live.has(message.request_id)) continue;
      if (message.kind === "question") {
        // Named as the live view names them: "You" for one's own, else the display name.
        const mine = Boolean(message.who) && message.who.id === this.assistant.me.id;
        const turn = this.turn(message.request_id, { who: message.who, question: message.text, path: message.path, mine, created: message.created_at });
        turn.status = "lost"; // until its answer row says otherwise
        pending.set(message.request_id, turn);
        this.log.insertBefore(turn.question_el, this.firstLive());
        this.log.insertBefore(turn.answer_el, this.firstLive());
      } else {
        const turn = pending.get(message.request_id);
        if (!turn) continue;
        turn.text = message.text;
        turn.status = message.status || "ok";
        turn.error = message.error || ""; // a refusal or failure, worded as it was live
        turn.tier = message.tier;
        turn.model = message.model;
      }
    }
    for (const turn of pending.values()) {
      if (turn.status === "lost") turn.status = "";
      this.renderAnswer(turn);
    }
    this.empty.hidden = this.turns.size > 0;
    this.toEnd();
  }

  firstLive() {
    for (const turn of this.turns.values()) if (turn.status === "waiting" || turn.status === "streaming") return turn.question_el;
    return null;
  }
}

export { DEMO_TEXT };
