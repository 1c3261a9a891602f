// A task's changeset for review: per-file unified diffs with both line numbers, hunks
// that can be chosen, Apply (all, file, chosen hunks), Reject, Undo, the conflicts of a
// three-way merge side by side, and the task review's comments under their lines.
import { ACTIVE, h } from "./format.js";

const KIND_TEXT = { add: "added", modify: "modified", delete: "deleted" };
const STATUS_TEXT = { pending: "pending", applied: "applied", rejected: "rejected", conflict: "conflict" };

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export class ChangesView {
  constructor({ root, api, comments, canEdit, onChanged, onReview }) {
    this.root = root;
    this.api = api;
    this.comments = comments;
    this.canEdit = canEdit; // () => boolean
    this.onChanged = onChanged; // () => refetch the task
    this.onReview = onReview; // (task) => start a review of the changeset
    this.chosen = new Map(); // `${task}:${path}` -> Set of hunk indexes left ticked
    this.messages = new Map(); // path -> {kind, text} after the last action
    this.task = null;
    this.busy = false;
  }

  render(task) {
    if (this.task && task && this.task.id !== task.id) this.messages.clear();
    this.task = task;
    const changes = task.changes || [];
    const head = this.toolbar(task, changes);
    if (!changes.length) {
      const text = ACTIVE.has(task.status) ? "No file changed yet. Changes appear here as the task makes them." : "This task changed no files.";
      this.root.replaceChildren(head, h("div.pane-empty.changes-empty", {}, text));
      return;
    }
    this.root.replaceChildren(head, ...changes.map((change) => this.fileSection(task, change)));
  }

  toolbar(task, changes) {
    const added = changes.reduce((n, c) => n + (c.added || 0), 0);
    const removed = changes.reduce((n, c) => n + (c.removed || 0), 0);
    const open = changes.filter((c) => c.status === "pending" || c.status === "conflict");
    const applied = changes.filter((c) => c.status === "applied");
    const running = ACTIVE.has(task.status);
    const edit = this.canEdit();
    const bar = h(
      "div.changes-bar",
      {},
      h("strong", {}, plural(changes.length, "file")),
      changes.length ? h("span.diff-stat", {}, h("span.add", {}, `+${added}`), " ", h("span.del", {}, `−${removed}`)) : null,
      h("span.spacer"),
    );
    if (edit && changes.length) {
      if (open.length) {
        bar.append(
          h("button.btn.small", { type: "button", "data-apply-all": "", disabled: running || this.busy, onclick: () => this.act(() => this.api.apply(task.id)) }, "Apply all"),
          h("button.btn.small.danger-outline", { type: "button", "data-reject-all": "", disabled: running || this.busy, onclick: () => this.act(() => this.api.reject(task.id)) }, "Reject"),
        );
      }
      if (applied.length) {
        bar.append(h("button.btn.small.secondary", { type: "button", "data-undo-all": "", disabled: this.busy, onclick: () => this.act(() => this.api.undo(task.id)) }, "Undo apply"));
      }
    }
    if (edit && changes.length && !running) {
      bar.append(h("button.btn.small.secondary", { type: "button", "data-review-task": "", onclick: () => this.onReview(task) }, "Review changes"));
    }
    const wrap = h("div.changes-head", {}, bar);
    if (running && changes.length) wrap.append(h("p.changes-note.muted", {}, "The task is still running: these are its changes so far. Apply them once it has finished."));
    return wrap;
  }

  chosenFor(task, change) {
    const key = `${task.id}:${change.path}`;
    if (!this.chosen.has(key)) this.chosen.set(key, new Set(change.hunks.map((hunk) => hunk.index)));
    return this.chosen.get(key);
  }

  async act(call) {
    this.busy = true;
    this.messages.clear();
    try {
      const answer = await call();
      for (const file of (answer && answer.files) || []) {
        if (file.error) this.messages.set(file.path, { kind: "error", text: file.error });
      }
    } catch (error) {
      this.messages.set("*", { kind: "error", text: error.message });
    } finally {
      this.busy = false;
      await this.onChanged();
    }
  }

  fileSection(task, change) {
    const running = ACTIVE.has(task.status);
    const edit = this.canEdit() && !running;
    const chosen = this.chosenFor(task, change);
    const wholeFile = change.change !== "modify";
    const actions = h("span.file-actions");
    if (edit && (change.status === "pending" || change.status === "conflict")) {
      const all = wholeFile || chosen.size === change.hunks.length;
      const label = change.status === "conflict" ? "Try again" : all ? "Apply file" : `Apply ${chosen.size} of ${plural(change.hunks.length, "hunk")}`;
      actions.append(
        h(
          "button.btn.small",
          {
            type: "button",
            "data-apply-file": change.path,
            disabled: this.busy || (!all && chosen.size === 0),
            onclick: () => this.act(() => this.api.apply(task.id, all ? { paths: [change.path] } : { hunks: { [change.path]: [...chosen].sort((a, b) => a - b) } })),
          },
          label,
        ),
        h("button.btn.small.danger-outline", { type: "button", "data-reject-file": change.path, disabled: this.busy, onclick: () => this.act(() => this.api.reject(task.id, [change.path])) }, "Reject"),
      );
    }
    if (edit && change.status === "applied") {
      actions.append(h("button.btn.small.secondary", { type: "button", "data-undo-file": change.path, disabled: this.busy, onclick: () => this.act(() => this.api.undo(task.id, [change.path])) }, "Undo"));
    }
    const section = h(
      "section.change-file",
      { "data-change": change.path, "data-status": change.status },
      h(
        "header.change-head",
        {},
        h("span.change-kind", { "data-kind": change.change }, KIND_TEXT[change.change] || change.change),
        h("span.change-path.mono", { title: change.path }, change.path),
        h("span.diff-stat", {}, h("span.add", {}, `+${change.added}`), " ", h("span.del", {}, `−${change.removed}`)),
        h("span.change-status", { "data-status": change.status, "data-change-status": "" }, STATUS_TEXT[change.status] || change.status),
        change.applied_by && change.status === "applied" ? h("span.muted.small", {}, `by ${change.applied_by}`) : null,
        h("span.spacer"),
        actions,
      ),
    );
    const message = this.messages.get(change.path) || (this.messages.get("*") && change === task.changes[0] ? this.messages.get("*") : null);
    if (message) section.append(h("div.banner.error.change-msg", { role: "alert" }, message.text));
    if (change.status === "conflict" && change.conflicts && change.conflicts.length) section.append(this.conflicts(change));
    section.append(this.diffTable(task, change, chosen, edit && change.status === "pending" && !wholeFile && change.hunks.length > 1));
    return section;
  }

  conflicts(change) {
    const box = h(
      "div.conflicts",
      { "data-conflicts": change.path },
      h("p.conflict-why", {}, h("strong", {}, `${change.path} changed since the task's snapshot`), " and the same lines changed on both sides, so nothing was written. Settle these lines in the editor (or reject the file), then try again."),
    );
    for (const region of change.conflicts) {
      if (region.message) {
        box.append(h("p.conflict-msg", {}, region.message));
        continue;
      }
      const where = region.live_end >= region.live_start ? `lines ${region.live_start}–${region.live_end}` : `at line ${region.live_start}`;
      box.append(
        h(
          "div.conflict-region",
          {},
          h("div.conflict-side.live", {}, h("div.conflict-label", {}, `Live file now (${where})`), h("pre", {}, region.live || "(nothing)")),
          h("div.conflict-side.proposed", {}, h("div.conflict-label", {}, "The task proposes"), h("pre", {}, region.proposed || "(nothing)")),
        ),
      );
    }
    return box;
  }

  diffTable(task, change, chosen, choosable) {
    const comments = this.comments.forTask(task.id, change.path);
    const byLine = new Map();
    for (const comment of comments) {
      if (!byLine.has(comment.line)) byLine.set(comment.line, []);
      byLine.get(comment.line).push(comment);
    }
    const body = h("tbody");
    const applied = change.applied_hunks ? new Set(change.applied_hunks) : null;
    for (const hunk of change.hunks) {
      const dropped = applied && !applied.has(hunk.index);
      const head = h("td.hunk-head", { colspan: 4 });
      if (choosable) {
        const box = h("input", { type: "checkbox", "data-hunk": `${change.path}#${hunk.index}`, "aria-label": `Include hunk ${hunk.index + 1}` });
        box.checked = chosen.has(hunk.index);
        box.addEventListener("change", () => {
          if (box.checked) chosen.add(hunk.index);
          else chosen.delete(hunk.index);
          this.render(this.task);
        });
        head.append(h("label.hunk-pick", {}, box, ` hunk ${hunk.index + 1}`));
      }
      head.append(h("span.hunk-header.mono", {}, hunk.header));
      if (dropped) head.append(h("span.muted.small", {}, " · not applied"));
      body.append(h("tr.hunk-row", { class: `hunk-row${dropped || (choosable && !chosen.has(hunk.index)) ? " unchosen" : ""}` }, head));
      let oldLine = hunk.old_start;
      let newLine = hunk.new_start;
      for (const line of hunk.lines) {
        const sign = line[0];
        const text = line.slice(1);
        let row;
        if (sign === "+") {
          row = h("tr.add", {}, h("td.ln"), h("td.ln", {}, newLine), h("td.sign", {}, "+"), h("td.code", {}, text));
          newLine += 1;
        } else if (sign === "-") {
          row = h("tr.del", {}, h("td.ln", {}, oldLine), h("td.ln"), h("td.sign", {}, "−"), h("td.code", {}, text));
          oldLine += 1;
        } else if (sign === "\\") {
          row = h("tr.meta", {}, h("td.ln"), h("td.ln"), h("td.sign"), h("td.code", {}, line));
        } else {
          row = h("tr.ctx", {}, h("td.ln", {}, oldLine), h("td.ln", {}, newLine), h("td.sign"), h("td.code", {}, text));
          oldLine += 1;
          newLine += 1;
        }
        body.append(row);
        if (sign !== "-" && sign !== "\\" && byLine.has(newLine - 1)) {
          for (const comment of byLine.get(newLine - 1)) body.append(h("tr.comment-row", {}, h("td", { colspan: 4 }, this.comments.card(comment))));
          byLine.delete(newLine - 1);
        }
      }
    }
    const table = h("table.diff", { "data-diff": change.path }, body);
    const out = h("div.diff-wrap", {}, table);
    // Comments on lines outside the hunks (the model may point at unchanged code).
    const rest = [...byLine.values()].flat();
    if (rest.length) out.append(h("div.diff-comments", {}, rest.map((c) => this.comments.card(c))));
    return out;
  }
}
