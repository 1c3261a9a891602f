// Just enough Markdown for answers: paragraphs, lists as lines, inline `code`, **bold**,
// and fenced code blocks (an unclosed fence while streaming is code up to the end).
// Built with DOM nodes and textContent only: model output never becomes HTML.
import { el } from "./labels.js";

const FENCE = /```([\w+#.-]*)[^\n]*\n([\s\S]*?)(?:\n```|$)/g;

function inline(parent, text) {
  const parts = text.split(/(`[^`\n]+`|\*\*[^*\n]+\*\*)/);
  for (const part of parts) {
    if (!part) continue;
    if (part.startsWith("`") && part.endsWith("`") && part.length > 2) parent.append(el("code", "", part.slice(1, -1)));
    else if (part.startsWith("**") && part.endsWith("**") && part.length > 4) parent.append(el("strong", "", part.slice(2, -2)));
    else parent.append(document.createTextNode(part));
  }
}

function prose(parent, text) {
  for (const block of text.split(/\n{2,}/)) {
    if (!block.trim()) continue;
    const p = el("p");
    block
      .replace(/^\n+|\n+$/g, "")
      .split("\n")
      .forEach((line, index) => {
        if (index) p.append(el("br"));
        inline(p, line);
      });
    parent.append(p);
  }
}

/** Renders `text` into `parent`; `codeActions(code, lang)` returns buttons for a block. */
export function renderAnswer(parent, text, codeActions) {
  parent.replaceChildren();
  let last = 0;
  for (const match of text.matchAll(FENCE)) {
    prose(parent, text.slice(last, match.index));
    const [, lang, code] = match;
    const block = el("div", "assist-code");
    const bar = el("div", "assist-code-bar");
    bar.append(el("span", "assist-code-lang", lang || "code"));
    if (codeActions) bar.append(...codeActions(code, lang));
    const pre = el("pre");
    pre.append(el("code", "", code));
    block.append(bar, pre);
    parent.append(block);
    last = match.index + match[0].length;
  }
  prose(parent, text.slice(last));
}
