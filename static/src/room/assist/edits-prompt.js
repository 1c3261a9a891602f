// Quick edit, the prompt: Ctrl/Cmd-K on a selection (no selection: the cursor's line)
// opens a small form above it; Enter asks for the edit, Esc closes it.
import { Prec, StateEffect, StateField } from "@codemirror/state";
import { keymap, showTooltip } from "@codemirror/view";

import { el } from "./labels.js";

const openPrompt = StateEffect.define(); // {from, to, create} | null

const promptField = StateField.define({
  create: () => null,
  update(value, tr) {
    if (value && tr.docChanged) value = { ...value, from: tr.changes.mapPos(value.from, -1), to: tr.changes.mapPos(value.to, 1) };
    for (const effect of tr.effects) if (effect.is(openPrompt)) value = effect.value;
    return value;
  },
  provide: (field) =>
    showTooltip.from(field, (value) => (value ? { pos: value.from, above: true, strictSide: false, arrow: false, create: value.create } : null)),
});

/** The prompt's DOM; `ask(from, to, instruction)` when the person presses Enter. */
function promptTooltip(view, ask) {
  const dom = el("div", "cm-qe-prompt");
  dom.dataset.qePrompt = "";
  const form = el("form", "cm-qe-form");
  const input = el("input", "cm-qe-input");
  input.type = "text";
  input.placeholder = "Edit the selection: e.g. add type hints";
  input.setAttribute("aria-label", "What should change in the selection");
  input.maxLength = 4000;
  form.append(input);
  const hint = el("div", "cm-qe-hint", "Enter to ask the fast model · Esc to cancel · everyone here sees the diff");
  dom.append(form, hint);
  const close = () => {
    view.dispatch({ effects: openPrompt.of(null) });
    view.focus();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = view.state.field(promptField);
    const instruction = input.value.trim();
    if (!value || !instruction) return;
    close();
    // The selection would paint over the diff: leave the cursor at the end of it instead.
    view.dispatch({ selection: { anchor: value.to } });
    ask(value.from, value.to, instruction);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
    event.stopPropagation();
  });
  return { dom, mount: () => input.focus() };
}

/** The prompt for one open document: its state field and its keys. */
export function editPrompt({ edits, session }) {
  const ask = (view) => (from, to, instruction) => edits.start(session, view, from, to, instruction);
  const open = (view) => {
    if (!edits.assistant.canAsk() || view.state.readOnly) return false;
    let { from, to } = view.state.selection.main;
    if (from === to) {
      // Nothing selected: the line the cursor is on.
      const line = view.state.doc.lineAt(from);
      from = line.from;
      to = line.to;
    }
    view.dispatch({ effects: openPrompt.of({ from, to, create: (tooltipView) => promptTooltip(tooltipView, ask(tooltipView)) }) });
    return true;
  };
  const keys = Prec.highest(
    keymap.of([
      { key: "Mod-k", run: open, preventDefault: true },
      { key: "Escape", run: (view) => (view.state.field(promptField) ? (view.dispatch({ effects: openPrompt.of(null) }), true) : false) },
    ]),
  );
  return [promptField, keys];
}
