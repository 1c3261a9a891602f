// The room's timeline of applied change sets (GET /api/rooms/<id>/checkpoints): each apply
// of a task's changes, newest first, with its files and +/- counts, who applied it and
// when, and an Undo that takes the whole set back (editors) as long as its files are as
// the apply left them; otherwise the server's refusal says which file changed.
import { ago, h } from "./format.js";

export class CheckpointTimeline {
  constructor({ root, api, canEdit, onOpenTask }) {
    this.api = api;
    this.canEdit = canEdit;
    this.onOpenTask = onOpenTask;
    this.list = root.querySelector("[data-checkpoint-list]");
    this.empty = root.querySelector("[data-checkpoint-empty]");
    this.error = root.querySelector("[data-checkpoint-error]");
    this.rows = [];
    this.busy = new Set();
    this.list.addEventListener("click", (event) => {
      const undo = event.target.closest("[data-checkpoint-undo]");
      if (undo) this.undo(Number(undo.dataset.checkpointUndo));
      const task = event.target.closest("[data-checkpoint-task]");
      if (task) this.onOpenTask(Number(task.dataset.checkpointTask));
    });
  }

  async load() {
    try {
      this.rows = await this.api.checkpoints();
      this.render();
    } catch (error) {
      this.showError(`The applied changes could not be loaded: ${error.message}`);
    }
  }

  /** Something was applied or undone somewhere (task.changes): read the timeline again. */
  changed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 150);
  }

  async undo(checkpointId) {
    if (this.busy.has(checkpointId)) return;
    this.busy.add(checkpointId);
    this.showError("");
    this.render();
    try {
      await this.api.undoCheckpoint(checkpointId);
    } catch (error) {
      this.showError(`Not undone: ${error.message}`);
    } finally {
      this.busy.delete(checkpointId);
      await this.load();
    }
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  render() {
    this.empty.hidden = this.rows.length > 0;
    this.list.replaceChildren(...this.rows.map((row) => this.item(row)));
  }

  item(row) {
    const files = h(
      "ul.checkpoint-files",
      {},
      row.files.map((f) =>
        h("li", { dataset: { path: f.path } }, `${f.path} `, h("span.added", { text: `+${f.added}` }), " ", h("span.removed", { text: `−${f.removed}` }), f.change === "modify" ? "" : ` (${f.change === "add" ? "new" : "deleted"})`),
      ),
    );
    const when = ago(row.applied_at);
    const meta = row.undone
      ? `applied by ${row.applied_by || "someone"} ${when}; undone by ${row.undone_by || "someone"} ${ago(row.undone_at)}`
      : `applied by ${row.applied_by || "someone"} ${when}`;
    const button =
      !row.undone && this.canEdit()
        ? h("button.btn.small.secondary", { type: "button", dataset: { checkpointUndo: String(row.id) }, disabled: this.busy.has(row.id), title: "Put these files back as they were before this apply" }, "Undo")
        : null;
    const top = h(
      "div.checkpoint-top",
      {},
      h("button.linklike", { type: "button", dataset: { checkpointTask: String(row.task) }, title: row.task_prompt }, `Task #${row.task}`),
      h("span.muted", { text: `+${row.added} −${row.removed}` }),
      row.undone ? h("span.badge", { text: "undone" }) : null,
      h("span.spacer"),
      button,
    );
    const li = h("li.checkpoint", { dataset: { checkpoint: String(row.id) } }, top, files, h("div.checkpoint-meta.muted", { text: meta }));
    if (row.undone) li.classList.add("undone");
    return li;
  }
}
