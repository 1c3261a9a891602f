// Steering a task together (docs/AGENTS.md "Steering"): a message box for a running task,
// the plan card of a plan-first task (approve, edit, reject), a follow-up box for a
// finished one, the rules it was given, and the model's text as it is being written
// (task.output events, replaced by the stored step when the turn ends). Editors act;
// viewers read along (the server refuses them anyway).
import { h } from "./format.js";

const OPEN = new Set(["queued", "running", "waiting"]);
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

export class SteerPanel {
  constructor({ api, canEdit, onTask, showError }) {
    this.api = api;
    this.canEdit = canEdit;
    this.onTask = onTask; // a task came back from the server (status, or a new follow-up)
    this.showError = showError;
    this.task = null;
    this.el = h("div.steer", { "data-steer": "" });
    this.live = h("li.step.model.live", { "data-live-output": "", hidden: true }, h("span.step-who", {}, "model …"), h("div.step-text"));
  }

  render(task) {
    const changed = !this.task || this.task.id !== task.id || this.task.status !== task.status || this.task.plan_status !== task.plan_status;
    this.task = task;
    if (!changed && this.el.childElementCount) return; // keep what someone is typing
    const parts = [];
    if (task.rules_used && task.rules_used.length) {
      parts.push(h("div.muted.small", { "data-rules-used": "" }, `Rules given: ${task.rules_used.join(", ")}`));
    }
    if (task.follow_up_of) parts.push(h("div.muted.small", { "data-thread": task.thread || "" }, `Follow-up of task #${task.follow_up_of}`));
    if (task.status === "waiting" && task.plan) parts.push(this.planCard(task));
    if (this.canEdit() && OPEN.has(task.status)) parts.push(this.messageBox(task));
    if (this.canEdit() && FINISHED.has(task.status) && task.status !== "queued") parts.push(this.followUpBox(task));
    if (!FINISHED.has(task.status) || task.status === "waiting") this.hideLive();
    this.el.replaceChildren(...parts);
  }

  planCard(task) {
    const steps = h("ol.plan-steps", { "data-plan-steps": "" }, ...(task.plan.steps || []).map((s) => h("li", {}, s)));
    const files = task.plan.files && task.plan.files.length ? h("div.muted.small", {}, `Files: ${task.plan.files.join(", ")}`) : null;
    const card = h("div.plan-card", { "data-plan": "" }, h("strong", {}, "Plan — waiting for approval"), steps, files);
    if (!this.canEdit()) return card;
    const editor = h("textarea.plan-edit", { "data-plan-edit": "", rows: 4, hidden: true, "aria-label": "Edit the plan: one step per line" });
    const note = h("input.plan-note", { type: "text", "data-plan-note": "", placeholder: "Note or reason (optional)", "aria-label": "Note" });
    const approve = h("button.btn.small", { type: "button", "data-plan-approve": "", onclick: () => this.decide(task, "approve", editor, note) }, "Approve");
    const edit = h("button.btn.small.secondary", { type: "button", "data-plan-edit-open": "", onclick: () => {
      editor.hidden = false;
      editor.value = (task.plan.steps || []).join("\n");
      editor.focus();
    } }, "Edit");
    const reject = h("button.btn.small.danger", { type: "button", "data-plan-reject": "", onclick: () => this.decide(task, "reject", editor, note) }, "Reject");
    card.append(editor, h("div.plan-actions", {}, approve, edit, reject, note));
    return card;
  }

  async decide(task, decision, editor, note) {
    const body = { decision, message: note.value.trim() };
    if (decision === "approve" && !editor.hidden) {
      body.plan = { steps: editor.value.split("\n").map((s) => s.trim()).filter(Boolean), files: task.plan.files || [] };
    }
    try {
      this.onTask(await this.api.plan(task.id, body));
    } catch (error) {
      this.showError(`The plan decision did not go through: ${error.message}`);
    }
  }

  messageBox(task) {
    const input = h("input.steer-input", { type: "text", "data-steer-input": "", placeholder: "Message the task: it reads it before its next step", "aria-label": "Message to the task" });
    const send = async () => {
      const text = input.value.trim();
      if (!text) return;
      input.disabled = true;
      try {
        await this.api.message(task.id, text);
        input.value = "";
      } catch (error) {
        this.showError(`The message was not sent: ${error.message}`);
      } finally {
        input.disabled = false;
        input.focus();
      }
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        send();
      }
    });
    return h("div.steer-box", {}, input, h("button.btn.small", { type: "button", "data-steer-send": "", onclick: send }, "Send"));
  }

  followUpBox(task) {
    const input = h("input.steer-input", { type: "text", "data-follow-up-input": "", placeholder: "Follow up: continue from this task's result", "aria-label": "Follow-up instruction" });
    const go = async () => {
      const prompt = input.value.trim();
      if (!prompt) return;
      try {
        const created = await this.api.followUp(task.id, prompt);
        input.value = "";
        this.onTask(created, { open: true });
      } catch (error) {
        this.showError(`The follow-up did not start: ${error.message}`);
      }
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        go();
      }
    });
    return h("div.steer-box", {}, input, h("button.btn.small", { type: "button", "data-follow-up": "", onclick: go }, "Follow up"));
  }

  /** The model's text so far in the turn it is writing. */
  showOutput(list, frame) {
    this.live.hidden = false;
    this.live.dataset.tokens = frame.tokens;
    this.live.querySelector(".step-text").textContent = frame.text;
    this.live.querySelector(".step-who").textContent = `model · writing · ${frame.tokens} tokens`;
    if (this.live.parentNode !== list || list.lastChild !== this.live) list.append(this.live);
    list.scrollTop = list.scrollHeight;
  }

  hideLive() {
    this.live.hidden = true;
  }
}
