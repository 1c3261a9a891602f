// The room's open review comments: loaded once, kept fresh by review.comments and
// review.comment, shown in the editor (file reviews: a gutter marker, the card below the
// line) and in a task's diff (task reviews). Resolving fades a comment out for everyone.
import { reviewGutter, showComments } from "./gutter.js";
import { h } from "./format.js";

const FADE_MS = 900;

export class ReviewComments extends EventTarget {
  constructor({ api, editor, canEdit }) {
    super();
    this.api = api;
    this.editor = editor;
    this.canEdit = canEdit; // () => boolean
    this.byId = new Map();
  }

  async load() {
    try {
      this.set(await this.api.comments({ resolved: false }));
    } catch {
      // The gutter stays empty; the next review.comments brings fresh ones.
    }
  }

  set(comments) {
    for (const comment of comments) this.byId.set(comment.id, comment);
    this.changed();
  }

  update(comment) {
    if (!this.byId.has(comment.id) && comment.resolved) return;
    this.byId.set(comment.id, comment);
    this.changed();
    if (comment.resolved) {
      // Shown faded a moment, then gone.
      setTimeout(() => {
        const now = this.byId.get(comment.id);
        if (now && now.resolved) {
          this.byId.delete(comment.id);
          this.changed();
        }
      }, FADE_MS);
    }
  }

  /** Comments of a file review on this file (anchored in the live text). */
  forFile(file) {
    return [...this.byId.values()].filter((c) => c.task === null && (c.doc_id ? c.doc_id === file.doc_id : c.path === file.path));
  }

  /** Comments of a task review on one file of its changeset (lines of the proposed text). */
  forTask(taskId, path) {
    return [...this.byId.values()].filter((c) => c.task === taskId && c.path === path);
  }

  changed() {
    for (const { file, session } of this.editor.tabs.values()) {
      if (session) showComments(session.view, this.forFile(file));
    }
    this.dispatchEvent(new CustomEvent("changed"));
  }

  /** The gutter for one editor session (EditorArea.extensionsFor). */
  extensionFor(session) {
    return reviewGutter({
      initial: () => this.forFile(session.file),
      card: (comment) => this.card(comment),
    });
  }

  async resolve(comment, resolved = true) {
    try {
      this.update(await this.api.resolve(comment.id, resolved));
    } catch (error) {
      this.dispatchEvent(new CustomEvent("error", { detail: { message: error.message } }));
    }
  }

  /** One comment as a card: severity, body, who resolved, Resolve (editors). */
  card(comment) {
    const actions = [];
    if (this.canEdit()) {
      actions.push(
        comment.resolved
          ? h("button.btn.small.secondary", { type: "button", onclick: () => this.resolve(comment, false) }, "Reopen")
          : h("button.btn.small.secondary", { type: "button", "data-resolve": comment.id, onclick: () => this.resolve(comment) }, "Resolve"),
      );
    }
    return h(
      "div.review-card",
      { "data-severity": comment.severity, "data-comment": comment.id, class: `review-card${comment.resolved ? " resolved" : ""}` },
      h("div.review-card-head", {}, h("span.review-sev", { "data-severity": comment.severity }, comment.severity), h("span.muted", {}, `${comment.path}:${comment.line}`), comment.resolved ? h("span.muted", {}, `resolved${comment.resolved_by ? ` by ${comment.resolved_by}` : ""}`) : null),
      h("div.review-body", {}, comment.body),
      actions.length ? h("div.review-actions", {}, actions) : null,
    );
  }
}
