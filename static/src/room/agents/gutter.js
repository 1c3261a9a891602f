// Review comments in the editor: a gutter of markers at their lines, a popover with the
// severity, the body and Resolve. Comments are anchored by line and re-found by their
// line's text after edits (docs/PROTOCOL.md: `line_text` lets the UI re-find the line);
// between refreshes the markers move with the text through the change mapping.
import { RangeSet, StateEffect, StateField } from "@codemirror/state";
import { EditorView, GutterMarker, gutter } from "@codemirror/view";

import { h } from "./format.js";

const setComments = StateEffect.define();
const SEVERITY_RANK = { error: 3, warning: 2, info: 1 };

/** The line a comment belongs on now: its line if the text still matches, else the nearest line with that text. */
export function anchorLine(doc, comment) {
  const lines = doc.lines;
  const wanted = (comment.line_text || "").trim();
  const at = Math.min(Math.max(comment.line, 1), lines);
  if (!wanted || doc.line(at).text.trim() === wanted) return at;
  for (let distance = 1; distance < lines; distance += 1) {
    for (const n of [at - distance, at + distance]) {
      if (n >= 1 && n <= lines && doc.line(n).text.trim() === wanted) return n;
    }
    if (at - distance < 1 && at + distance > lines) break;
  }
  return at;
}

class CommentMarker extends GutterMarker {
  constructor(comments, ui) {
    super();
    this.comments = comments;
    this.ui = ui;
    this.severity = comments.reduce((worst, c) => (SEVERITY_RANK[c.severity] > SEVERITY_RANK[worst] ? c.severity : worst), "info");
  }

  eq(other) {
    return other.comments.length === this.comments.length && other.comments.every((c, i) => c.id === this.comments[i].id && c.resolved === this.comments[i].resolved);
  }

  toDOM() {
    const resolved = this.comments.every((c) => c.resolved);
    const marker = h(
      "button.review-marker",
      {
        type: "button",
        "data-severity": this.severity,
        "data-review-marker": this.comments.map((c) => c.id).join(" "),
        title: this.comments.map((c) => `${c.severity}: ${c.body}`).join("\n"),
        "aria-label": `${this.comments.length} review comment${this.comments.length === 1 ? "" : "s"}`,
      },
      this.comments.length > 1 ? String(this.comments.length) : "",
    );
    if (resolved) marker.classList.add("resolved");
    marker.addEventListener("mousedown", (event) => event.preventDefault()); // keep the editor's selection
    marker.addEventListener("click", (event) => {
      event.stopPropagation();
      this.ui.popover(marker, this.comments);
    });
    return marker;
  }
}

class SpacerMarker extends GutterMarker {
  toDOM() {
    return h("span.review-marker-spacer", { "aria-hidden": "true" });
  }
}

function build(doc, comments, ui) {
  if (doc.length === 0 || !comments.length) return RangeSet.empty;
  const byLine = new Map();
  for (const comment of comments) {
    const n = anchorLine(doc, comment);
    if (!byLine.has(n)) byLine.set(n, []);
    byLine.get(n).push(comment);
  }
  const ranges = [...byLine.entries()].sort((a, b) => a[0] - b[0]).map(([n, list]) => new CommentMarker(list, ui).range(doc.line(n).from));
  return RangeSet.of(ranges);
}

/** The editor extension for one document: `ui` is {popover(el, comments), initial()}. */
export function reviewGutter(ui) {
  const field = StateField.define({
    create: (state) => {
      const comments = ui.initial();
      return { comments, markers: build(state.doc, comments, ui) };
    },
    update(value, tr) {
      let { comments, markers } = value;
      let rebuild = false;
      for (const effect of tr.effects) {
        if (effect.is(setComments)) {
          comments = effect.value;
          rebuild = true;
        }
      }
      // The first sync fills an empty document: place the markers then.
      if (tr.docChanged && tr.startState.doc.length === 0) rebuild = true;
      if (rebuild) return { comments, markers: build(tr.state.doc, comments, ui) };
      if (tr.docChanged) markers = markers.map(tr.changes);
      return markers === value.markers ? value : { comments, markers };
    },
  });
  return [
    field,
    gutter({
      class: "cm-review-gutter",
      markers: (view) => view.state.field(field).markers,
      initialSpacer: () => new SpacerMarker(),
    }),
    EditorView.baseTheme({ ".cm-review-gutter .cm-gutterElement": { padding: "0 2px" } }),
  ];
}

/** Replace the comments shown in one editor view. */
export function showComments(view, comments) {
  view.dispatch({ effects: setComments.of(comments) });
}
