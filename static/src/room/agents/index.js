// Deep tasks and reviews in the room: the Tasks tab (start a task, the room's tasks live),
// the task sheet over the editor (log, Stop/Retry, variants, the changeset to review) and
// review comments in the editor gutter. Everything is started and acted on through the
// API (docs/AGENTS.md); the room socket's task.* and review.* events only tell us what
// happened (docs/PROTOCOL.md, "Deep tasks"), so a reload reads the same state back.
import { CheckpointTimeline } from "./checkpoints.js";
import { ReviewComments } from "./comments.js";
import { ACTIVE, ago, duration, h, isStale, statusBadge, taskSeconds, tokens } from "./format.js";
import { TaskSheet } from "./sheet.js";
import { TasksApi } from "./api.js";

export class TasksPanel {
  constructor({ root, editor, files, roomId, role, onShow }) {
    this.root = root;
    this.editor = editor;
    this.files = files;
    this.role = role;
    this.onShow = onShow; // () => show the Tasks tab
    this.api = new TasksApi(roomId);
    this.tasks = new Map(); // id -> task (the API's task object)
    this.reviews = new Map(); // run id -> run
    this.form = root.querySelector("[data-task-form]");
    this.list = root.querySelector("[data-task-list]");
    this.empty = root.querySelector("[data-task-empty]");
    this.error = root.querySelector("[data-task-error]");
    this.comments = new ReviewComments({ api: this.api, editor, canEdit: () => this.canEdit() });
    this.comments.addEventListener("error", ({ detail }) => this.editorNote(detail.message, "error"));
    this.sheet = new TaskSheet({ host: editor.root, api: this.api, comments: this.comments, panel: this });
    this.checkpoints = new CheckpointTimeline({
      root,
      api: this.api,
      canEdit: () => this.canEdit(),
      onOpenTask: (id) => this.openTask(id),
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
    this.form.querySelector("[data-task-prompt-input]").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.start();
      }
    });
    this.form.querySelector("[data-task-scope-open]").addEventListener("click", () => this.addOpenFileToScope());
    this.list.addEventListener("click", (event) => {
      const row = event.target.closest("[data-task-id]");
      if (row) this.openTask(Number(row.dataset.taskId));
    });
    this.list.addEventListener("keydown", (event) => {
      const row = event.target.closest("[data-task-id]");
      if (row && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        this.openTask(Number(row.dataset.taskId));
      }
    });
    this.mountReviewButton();
    files.addEventListener("changed", () => this.fillScopePaths());
    // Ages and running durations move: every second while something runs, else rarely.
    let ticks = 0;
    setInterval(() => {
      ticks += 1;
      const running = [...this.tasks.values()].some((t) => t.status === "running");
      if (running || ticks % 20 === 0) this.renderList();
      this.sheet.tick();
    }, 1000);
    this.setRole(role);
  }

  canEdit() {
    return this.role === "editor" || this.role === "admin";
  }

  setRole(role) {
    this.role = role;
    const edit = this.canEdit();
    this.form.hidden = !edit;
    this.root.querySelector("[data-task-viewer-note]").hidden = edit;
    this.reviewButton.hidden = !edit;
    this.renderList();
    this.checkpoints.render();
    if (this.sheet.detail) this.sheet.render();
  }

  /** The gutter of review comments, for each open document. */
  extensionsFor(session) {
    return this.comments.extensionFor(session);
  }

  async connected() {
    // First load, and after a reconnect: catch up with what happened meanwhile.
    await Promise.all([this.reload(), this.comments.load(), this.checkpoints.load()]);
    if (this.sheet.taskId !== null) this.sheet.refetch();
  }

  async reload() {
    try {
      const tasks = await this.api.list();
      this.tasks = new Map(tasks.map((t) => [t.id, t]));
      this.renderList();
    } catch (error) {
      this.showError(`The tasks could not be loaded: ${error.message}`);
    }
  }

  upsert(task) {
    const known = this.tasks.get(task.id);
    if (isStale(task, known)) return; // a late answer must not undo a newer event
    const { steps, changes, ...brief } = task; // the list keeps the task, not its log
    this.tasks.set(task.id, { ...(known || {}), ...brief });
    this.renderList();
  }

  // --- starting -----------------------------------------------------------------------

  scope() {
    const raw = this.form.querySelector("[data-task-scope]").value;
    return raw.split(/[,\n]/).map((p) => p.trim()).filter(Boolean);
  }

  async start() {
    const promptEl = this.form.querySelector("[data-task-prompt-input]");
    const prompt = promptEl.value.trim();
    if (!prompt) {
      this.showError("Say what the task should do.");
      promptEl.focus();
      return;
    }
    const button = this.form.querySelector("[data-task-start]");
    button.disabled = true;
    this.showError(null);
    try {
      const attempts = Number(this.form.querySelector("[data-task-attempts]").value) || 1;
      const planFirst = Boolean(this.form.querySelector("[data-task-plan-first]")?.checked);
      const started = await this.api.start({ prompt, scope: this.scope(), attempts, planFirst });
      for (const task of started.tasks) this.upsert(task);
      promptEl.value = "";
      this.openTask(started.tasks[0].id);
    } catch (error) {
      this.showError(error.message);
    } finally {
      button.disabled = false;
    }
  }

  showError(text) {
    this.error.hidden = !text;
    this.error.textContent = text || "";
  }

  addOpenFileToScope() {
    const tab = this.editor.tabs.get(this.editor.active);
    if (!tab) {
      this.showError("Open a file first, or type a path.");
      return;
    }
    const input = this.form.querySelector("[data-task-scope]");
    const paths = this.scope();
    if (!paths.includes(tab.file.path)) paths.push(tab.file.path);
    input.value = paths.join(", ");
  }

  fillScopePaths() {
    const folders = new Set();
    for (const file of this.files.files) {
      const parts = file.path.split("/");
      for (let i = 1; i < parts.length; i += 1) folders.add(`${parts.slice(0, i).join("/")}/`);
    }
    const paths = [...[...folders].sort(), ...this.files.files.map((f) => f.path)];
    this.root.querySelector("[data-task-scope-paths]").replaceChildren(...paths.map((p) => h("option", { value: p })));
  }

  // --- the list -----------------------------------------------------------------------

  renderList() {
    // One row per group: variants of one request are one entry, opened on its first.
    const groups = new Map();
    for (const task of [...this.tasks.values()].sort((a, b) => b.id - a.id)) {
      if (!groups.has(task.group)) groups.set(task.group, []);
      groups.get(task.group).push(task);
    }
    this.empty.hidden = groups.size > 0;
    const rows = [];
    for (const group of groups.values()) {
      group.sort((a, b) => a.variant - b.variant);
      rows.push(this.row(group));
    }
    const focused = document.activeElement && this.list.contains(document.activeElement) ? document.activeElement.dataset.taskId : null;
    this.list.replaceChildren(...rows);
    if (focused) this.list.querySelector(`[data-task-id="${focused}"]`)?.focus();
  }

  row(group) {
    const lead = group.find((t) => t.picked) || group[0];
    const shown = this.sheet.taskId !== null && group.some((t) => t.id === this.sheet.taskId);
    const seconds = Math.max(...group.map((t) => taskSeconds(t)));
    const used = group.reduce((n, t) => n + (t.tokens_used || 0), 0);
    const meta = [lead.created_by, ago(lead.created_at), duration(seconds), tokens(used)].filter(Boolean).join(" · ");
    const statusOf = group.length > 1 && group.some((t) => ACTIVE.has(t.status)) ? group.find((t) => ACTIVE.has(t.status)) : lead;
    return h(
      "li.task-row",
      { "data-task-id": lead.id, tabindex: 0, role: "button", "aria-current": shown ? "true" : null, "data-group": lead.group },
      h("div.task-row-top", {}, statusBadge(statusOf), group.length > 1 ? h("span.task-variants", { title: "Attempts run in parallel" }, `×${group.length}`) : null, h("span.task-row-prompt", {}, lead.prompt)),
      h("div.task-row-meta.muted", {}, meta),
    );
  }

  openTask(id) {
    this.onShow();
    this.sheet.open(id);
    this.renderList();
  }

  sheetClosed() {
    this.renderList();
  }

  // --- reviews ------------------------------------------------------------------------

  mountReviewButton() {
    // A "Review" button in the editor's status bar, for the file shown.
    const status = this.editor.root.querySelector("[data-editor-status]");
    this.reviewState = h("span.review-state", { "data-review-state": "", "aria-live": "polite" });
    this.reviewButton = h("button.btn.small.secondary.review-file", { type: "button", "data-review-file": "", title: "Ask the review model for comments on this file" }, "Review");
    this.reviewButton.addEventListener("click", () => this.reviewFile());
    const spacer = status.querySelector(".spacer");
    status.insertBefore(this.reviewState, spacer);
    status.insertBefore(this.reviewButton, spacer);
  }

  async reviewFile() {
    const tab = this.editor.tabs.get(this.editor.active);
    if (!tab || !tab.session) return;
    this.reviewButton.disabled = true;
    this.editorNote("Reviewing…", "running");
    try {
      const run = await this.api.reviewFile(tab.file.path);
      this.reviews.set(run.id, run);
    } catch (error) {
      this.editorNote(`Review not started: ${error.message}`, "error");
      this.reviewButton.disabled = false;
    }
  }

  async reviewTask(task) {
    try {
      const run = await this.api.reviewTask(task.id);
      this.reviews.set(run.id, run);
      this.sheet.renderReviewLine();
    } catch (error) {
      this.sheet.showNotice("error", `Review not started: ${error.message}`);
    }
  }

  latestReview({ task }) {
    const runs = [...this.reviews.values()].filter((r) => r.task === task);
    return runs.sort((a, b) => b.id - a.id)[0] || null;
  }

  editorNote(text, state) {
    this.reviewState.textContent = text;
    this.reviewState.title = text; // the status bar may cut it short
    this.reviewState.dataset.state = state;
    clearTimeout(this.noteTimer);
    if (state !== "running") this.noteTimer = setTimeout(() => (this.reviewState.textContent = ""), 10000);
  }

  onReviewStatus(run) {
    const mine = this.reviews.has(run.id);
    this.reviews.set(run.id, { ...(this.reviews.get(run.id) || {}), ...run });
    if (run.target === "file" && mine && !["queued", "running"].includes(run.status)) {
      this.reviewButton.disabled = false;
      if (run.status === "failed") this.editorNote(`Review failed: ${run.error_message || run.error_kind}`, "error");
    }
    this.sheet.renderReviewLine();
  }

  onReviewComments(frame) {
    const run = this.reviews.get(frame.run);
    if (run) {
      run.comment_count = frame.comments.length;
      if (run.target === "file") {
        this.reviewButton.disabled = false;
        const n = frame.comments.length;
        this.editorNote(n ? `Review: ${n} comment${n === 1 ? " below its line" : "s below their lines"}` : "Review: no comments", "done");
      }
    }
    this.comments.set(frame.comments);
    this.sheet.renderReviewLine();
  }

  // --- the room socket ----------------------------------------------------------------

  onMessage(frame) {
    if (frame.type === "task.status") {
      this.upsert(frame.task);
      this.sheet.onStatus(this.tasks.get(frame.task.id));
    } else if (frame.type === "task.step") {
      const task = this.tasks.get(frame.task);
      if (task && frame.step.tokens > (task.tokens_used || 0)) task.tokens_used = frame.step.tokens;
      this.sheet.onStep(frame);
    } else if (frame.type === "task.output") {
      this.sheet.onOutput(frame);
    } else if (frame.type === "task.changes") {
      this.sheet.onChanges(frame);
      this.checkpoints.changed();
    } else if (frame.type === "review.status") {
      this.onReviewStatus(frame.run);
    } else if (frame.type === "review.comments") {
      this.onReviewComments(frame);
    } else if (frame.type === "review.comment") {
      this.comments.update(frame.comment);
    }
  }
}
