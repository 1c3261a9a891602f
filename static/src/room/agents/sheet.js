// One task (or one group of variants) over the editor: its header with Stop / Retry, the
// variants as tabs with Pick, the live log and the changeset to review. The whole stored
// log is loaded on open; task.step events are added as they come.
import { ChangesView } from "./changes.js";
import { ACTIVE, ago, duration, failureText, h, isStale, statusBadge, taskSeconds, tokens } from "./format.js";
import { StepLog } from "./log.js";
import { SteerPanel } from "./steer.js";

const REFRESH_TOOLS = new Set(["apply_patch", "run_command"]);

function metaText(task) {
  const parts = [task.created_by ? `by ${task.created_by}` : null, ago(task.created_at), duration(taskSeconds(task)), tokens(task.tokens_used)];
  if (task.scope && task.scope.length) parts.push(`scope: ${task.scope.join(", ")}`);
  return parts.filter(Boolean).join(" · ");
}

export class TaskSheet {
  constructor({ host, api, comments, panel }) {
    this.api = api;
    this.panel = panel; // the TasksPanel: tasks, canEdit, review()
    this.taskId = null;
    this.detail = null;
    this.stopping = new Set();
    this.el = h("section.task-sheet", { "aria-label": "Task", "data-task-sheet": "", hidden: true });
    this.head = h("div.sheet-head");
    this.variants = h("div.sheet-variants", { role: "tablist", "aria-label": "Attempts", hidden: true });
    this.notice = h("div.sheet-notice");
    this.logList = h("ol.step-log", { "data-task-log": "", "aria-live": "polite", "aria-label": "Task log" });
    this.tokensEl = h("span.muted.small", { "data-task-tokens": "" });
    this.changesEl = h("div.changes", { "data-task-changes": "" });
    this.reviewLine = h("div.review-line", { hidden: true, "data-review-line": "" });
    this.steer = new SteerPanel({
      api,
      canEdit: () => panel.canEdit(),
      showError: (text) => this.showNotice("error", text),
      onTask: (task, { open = false } = {}) => {
        panel.upsert(task);
        if (open) this.open(task.id);
        else this.onStatus(panel.tasks.get(task.id));
      },
    });
    this.el.append(
      this.head,
      this.variants,
      this.notice,
      this.steer.el,
      h(
        "div.sheet-body",
        {},
        h("div.sheet-log", {}, h("div.sheet-col-head", {}, h("span", {}, "Log"), this.tokensEl), this.logList),
        h("div.sheet-changes", {}, h("div.sheet-col-head", {}, h("span", {}, "Changes")), this.reviewLine, this.changesEl),
      ),
    );
    host.append(this.el);
    this.log = new StepLog(this.logList);
    this.changes = new ChangesView({
      root: this.changesEl,
      api,
      comments,
      canEdit: () => panel.canEdit(),
      onChanged: () => this.refetch(),
      onReview: (task) => panel.reviewTask(task),
    });
    comments.addEventListener("changed", () => {
      if (this.detail) this.changes.render(this.detail);
    });
    this.el.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented) this.close();
    });
  }

  get isOpen() {
    return !this.el.hidden;
  }

  async open(taskId) {
    this.taskId = taskId;
    this.detail = null;
    this.el.hidden = false;
    this.log.reset([]);
    this.changesEl.replaceChildren(h("div.pane-empty.changes-empty", {}, "Loading…"));
    this.renderHead(this.panel.tasks.get(taskId) || null);
    await this.refetch();
    this.el.querySelector("[data-sheet-close]")?.focus();
  }

  close() {
    this.el.hidden = true;
    this.taskId = null;
    this.detail = null;
    this.panel.sheetClosed();
  }

  async refetch() {
    const id = this.taskId;
    if (id === null) return;
    let detail;
    try {
      detail = await this.api.detail(id);
    } catch (error) {
      if (id === this.taskId) this.showNotice("error", `The task could not be loaded: ${error.message}`);
      return;
    }
    if (id !== this.taskId) return; // another task was opened meanwhile
    if (isStale(detail, this.panel.tasks.get(id))) {
      this.refetchSoon(); // the task moved on while this was in flight: ask again
      return;
    }
    // Steps that arrived by event while this was in flight stay; the stored log fills gaps.
    this.detail = detail;
    this.panel.upsert(detail);
    for (const step of detail.steps) this.log.add(step, { scroll: false });
    this.logList.scrollTop = this.logList.scrollHeight;
    this.render();
  }

  /** Fetch again soon (several events in a row make one request). */
  refetchSoon(ms = 250) {
    clearTimeout(this.refetchTimer);
    this.refetchTimer = setTimeout(() => this.refetch(), ms);
  }

  render() {
    const task = this.detail;
    if (!task) return;
    this.renderHead(task);
    this.changes.render(task);
    this.renderReviewLine();
  }

  group(task) {
    return [...this.panel.tasks.values()].filter((t) => t.group === task.group).sort((a, b) => a.variant - b.variant);
  }

  renderHead(task) {
    if (!task) {
      this.head.replaceChildren(h("button.btn.small.secondary", { type: "button", "data-sheet-close": "", onclick: () => this.close() }, "← Editor"));
      return;
    }
    const edit = this.panel.canEdit();
    const active = ACTIVE.has(task.status);
    const actions = h("span.sheet-actions");
    if (edit && active) {
      const stopping = this.stopping.has(task.id) || task.cancel_requested;
      actions.append(h("button.btn.small.danger", { type: "button", "data-task-stop": "", disabled: stopping, onclick: () => this.stop(task) }, stopping ? "Stopping…" : "Stop"));
    }
    if (edit && task.status === "cancelled") { // a failure has its Retry beside its reason
      actions.append(h("button.btn.small", { type: "button", "data-task-retry": "", onclick: () => this.retry(task) }, "Retry"));
    }
    const meta = metaText(task);
    this.head.replaceChildren(
      h("button.btn.small.secondary", { type: "button", "data-sheet-close": "", onclick: () => this.close(), title: "Back to the editor (Esc)" }, "← Editor"),
      h("div.sheet-title", {}, h("div.sheet-prompt", { title: task.prompt, "data-task-prompt": "" }, task.prompt), h("div.sheet-meta.muted", { "data-task-meta": "" }, meta)),
      statusBadge(task),
      actions,
    );
    this.tokensEl.textContent = tokens(task.tokens_used);
    this.steer.render(task);
    this.renderVariants(task);
    this.renderNotice(task);
  }

  renderVariants(task) {
    const group = this.group(task);
    this.variants.hidden = group.length < 2 && task.variants < 2;
    if (this.variants.hidden) return;
    const picked = group.find((t) => t.picked);
    const tabs = group.map((t) =>
      h(
        "button.variant-tab",
        { type: "button", role: "tab", "aria-selected": String(t.id === task.id), "data-variant": t.variant, onclick: () => t.id !== this.taskId && this.open(t.id) },
        `Attempt ${t.variant + 1}`,
        h("span.variant-dot", { "data-status": t.status, title: t.status }),
        t.picked ? h("span.variant-picked", {}, "picked") : null,
      ),
    );
    const pick = this.panel.canEdit() && !picked && task.status === "succeeded" ? h("button.btn.small", { type: "button", "data-pick": "", onclick: () => this.pick(task) }, `Pick attempt ${task.variant + 1}`) : null;
    const note = picked ? h("span.muted.small", {}, `Attempt ${picked.variant + 1} was picked; the others' changes were set aside.`) : h("span.muted.small", {}, `${group.length} attempts ran on the same snapshot: compare them, then pick one to apply it.`);
    this.variants.replaceChildren(...tabs, h("span.spacer"), note, pick);
  }

  renderNotice(task) {
    if (task.status === "failed") {
      const retry = this.panel.canEdit() ? h("button.btn.small", { type: "button", onclick: () => this.retry(task) }, "Retry") : null;
      const kind = task.error_kind === "worker_lost" ? "worker-lost" : "failed";
      this.notice.replaceChildren(h("div.banner.error.task-failure", { role: "alert", "data-failure": kind }, h("span", {}, failureText(task)), retry));
    } else if (task.status === "succeeded" && task.summary) {
      this.notice.replaceChildren(h("div.task-summary", { "data-task-summary": "" }, h("strong", {}, "Summary "), task.summary));
    } else if (task.status === "cancelled") {
      this.notice.replaceChildren(h("div.banner.info.task-cancelled", {}, "Stopped. The changes made before the stop are kept below."));
    } else if (task.commands_enabled === false) {
      this.notice.replaceChildren(h("div.banner.info", {}, "Commands are disabled: this worker has no sandbox, so the model cannot run commands."));
    } else {
      this.notice.replaceChildren();
    }
  }

  showNotice(kind, text) {
    this.notice.replaceChildren(h(`div.banner.${kind}`, { role: "alert" }, text));
  }

  renderReviewLine() {
    const run = this.detail && this.panel.latestReview({ task: this.detail.id });
    this.reviewLine.hidden = !run;
    if (!run) return;
    const count = [...this.panel.comments.byId.values()].filter((c) => c.task === this.detail.id).length;
    const text = run.status === "queued" || run.status === "running" ? "Reviewing the changes…" : run.status === "failed" ? `Review failed: ${run.error_message || run.error_kind}` : `Review done: ${run.comment_count ?? count} comment${(run.comment_count ?? count) === 1 ? "" : "s"}, shown under their lines.`;
    this.reviewLine.dataset.status = run.status;
    this.reviewLine.textContent = text;
  }

  async stop(task) {
    this.stopping.add(task.id);
    this.renderHead(this.detail || task);
    try {
      this.panel.upsert(await this.api.cancel(task.id));
    } catch (error) {
      this.stopping.delete(task.id);
      this.showNotice("error", `Could not stop the task: ${error.message}`);
    }
  }

  async retry(task) {
    try {
      const created = await this.api.retry(task.id);
      this.panel.upsert(created);
      this.open(created.id);
    } catch (error) {
      this.showNotice("error", `Could not retry: ${error.message}`);
    }
  }

  async pick(task) {
    try {
      await this.api.pick(task.id);
    } catch (error) {
      this.showNotice("error", `Could not pick this attempt: ${error.message}`);
    }
    await this.panel.reload();
    await this.refetch();
  }

  // --- events -----------------------------------------------------------------------

  onStatus(task) {
    if (!ACTIVE.has(task.status)) this.stopping.delete(task.id);
    if (this.taskId === null) return;
    if (task.id === this.taskId) {
      const wasActive = this.detail && ACTIVE.has(this.detail.status);
      this.detail = this.detail ? { ...this.detail, ...task } : null;
      if (this.detail) this.renderHead(this.detail);
      else this.renderHead(task);
      if (wasActive && !ACTIVE.has(task.status)) this.refetch(); // the final changeset
      else if (this.detail) this.changes.render(this.detail);
    } else if (this.detail && task.group === this.detail.group) {
      this.renderVariants(this.detail);
    }
  }

  onOutput(frame) {
    if (frame.task !== this.taskId) return;
    this.steer.showOutput(this.logList, frame);
    this.tokensEl.textContent = tokens(frame.tokens);
  }

  onStep(frame) {
    if (frame.task !== this.taskId) return;
    if (frame.step.kind === "model_text" || frame.step.kind === "tool_call") this.steer.hideLive();
    this.log.add(frame.step);
    if (this.detail) {
      this.detail.tokens_used = Math.max(this.detail.tokens_used || 0, frame.step.tokens || 0);
      this.tokensEl.textContent = tokens(this.detail.tokens_used);
    }
    if (frame.step.kind === "tool_result" && REFRESH_TOOLS.has(frame.step.tool)) this.refetchSoon();
  }

  onChanges(frame) {
    if (frame.task === this.taskId) this.refetchSoon(50);
  }

  tick() {
    const meta = this.head.querySelector("[data-task-meta]");
    if (this.detail && meta) meta.textContent = metaText(this.detail);
  }
}
