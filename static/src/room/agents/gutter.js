// Review comments in the editor: a gutter marker at each commented line and, below the
// line (never over it), the comments as cards: severity, body and Resolve, in sight without
// a click. The marker folds its line's cards away and back. Comments are anchored by line
// and re-found by their line's text after edits (docs/PROTOCOL.md: `line_text` lets the UI
// re-find the line); between refreshes they move with the text through the change mapping.
import { RangeSet, StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, GutterMarker, WidgetType, gutter } from "@codemirror/view";

import { h } from "./format.js";

const setComments = StateEffect.define();
const toggleFolded = StateEffect.define(); // the key of one line's comments (groupKey)
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
    return sameComments(this.comments, other.comments) && other.folded === this.folded;
  }

  toDOM(view) {
    const resolved = this.comments.every((c) => c.resolved);
    const marker = h(
      "button.review-marker",
      {
        type: "button",
        "data-severity": this.severity,
        "data-review-marker": this.comments.map((c) => c.id).join(" "),
        title: this.comments.map((c) => `${c.severity}: ${c.body}`).join("\n"),
        "aria-label": `${this.comments.length} review comment${this.comments.length === 1 ? "" : "s"}: ${this.folded ? "show" : "hide"}`,
        "aria-expanded": String(!this.folded),
      },
      this.comments.length > 1 ? String(this.comments.length) : "",
    );
    if (resolved) marker.classList.add("resolved");
    if (this.folded) marker.classList.add("folded");
    marker.addEventListener("mousedown", (event) => event.preventDefault()); // keep the editor's selection
    marker.addEventListener("click", (event) => {
      event.stopPropagation();
      view.dispatch({ effects: toggleFolded.of(groupKey(this.comments)) });
    });
    return marker;
  }
}

function sameComments(a, b) {
  return a.length === b.length && a.every((c, i) => c.id === b[i].id && c.resolved === b[i].resolved && c.body === b[i].body);
}

function groupKey(comments) {
  return comments.map((c) => c.id).join(" ");
}

/** A line's comments as cards, in a block below the line. */
class CardsWidget extends WidgetType {
  constructor(comments, ui) {
    super();
    this.comments = comments;
    this.ui = ui;
  }

  eq(other) {
    return sameComments(this.comments, other.comments);
  }

  toDOM() {
    return h("div.review-inline", { "data-review-inline": groupKey(this.comments), role: "note", "aria-label": "Review comments" }, this.comments.map((c) => this.ui.card(c)));
  }

  ignoreEvent() {
    return true; // Resolve and selecting the text are the card's, not the editor's
  }
}

class SpacerMarker extends GutterMarker {
  toDOM() {
    return h("span.review-marker-spacer", { "aria-hidden": "true" });
  }
}

function build(doc, comments, ui, folded) {
  if (doc.length === 0 || !comments.length) return { markers: RangeSet.empty, cards: Decoration.none };
  const byLine = new Map();
  for (const comment of comments) {
    const n = anchorLine(doc, comment);
    if (!byLine.has(n)) byLine.set(n, []);
    byLine.get(n).push(comment);
  }
  const lines = [...byLine.entries()].sort((a, b) => a[0] - b[0]);
  const markers = [];
  const cards = [];
  for (const [n, list] of lines) {
    const marker = new CommentMarker(list, ui);
    marker.folded = folded.has(groupKey(list));
    markers.push(marker.range(doc.line(n).from));
    if (!marker.folded) cards.push(Decoration.widget({ widget: new CardsWidget(list, ui), block: true, side: 1 }).range(doc.line(n).to));
  }
  return { markers: RangeSet.of(markers), cards: Decoration.set(cards) };
}

/** The editor extension for one document: `ui` is {card(comment), initial()}. */
export function reviewGutter(ui) {
  const field = StateField.define({
    create: (state) => {
      const comments = ui.initial();
      const folded = new Set();
      return { comments, folded, ...build(state.doc, comments, ui, folded) };
    },
    update(value, tr) {
      let { comments, folded } = value;
      let rebuild = false;
      for (const effect of tr.effects) {
        if (effect.is(setComments)) {
          comments = effect.value;
          rebuild = true;
        } else if (effect.is(toggleFolded)) {
          folded = new Set(folded);
          if (folded.has(effect.value)) folded.delete(effect.value);
          else folded.add(effect.value);
          rebuild = true;
        }
      }
      // The first sync fills an empty document: place the markers then.
      if (tr.docChanged && tr.startState.doc.length === 0) rebuild = true;
      if (rebuild) return { comments, folded, ...build(tr.state.doc, comments, ui, folded) };
      if (tr.docChanged) return { ...value, markers: value.markers.map(tr.changes), cards: value.cards.map(tr.changes) };
      return value;
    },
    provide: (f) => EditorView.decorations.from(f, (value) => value.cards),
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
