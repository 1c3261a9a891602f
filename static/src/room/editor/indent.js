// The indent unit of one document: what the file already uses (detect-indent), else the
// language's usual one. CodeMirror's default of two spaces made auto-indent insert two
// spaces in a four-space Python file.
import detectIndent from "detect-indent";
import { indentUnit } from "@codemirror/language";
import { EditorState } from "@codemirror/state";

// Languages whose convention is not two spaces (languages.js names).
const USUAL = { python: "    ", rust: "    ", java: "    ", cpp: "    ", php: "    ", go: "\t" };

/** The indent string for `text` in `language` ("    ", "  ", "\t"). */
export function indentFor(text, language) {
  const found = detectIndent(text || "");
  if (found.type === "tab") return "\t";
  if (found.type === "space" && found.amount > 0 && found.amount <= 8) return " ".repeat(found.amount);
  return USUAL[language] || "  ";
}

/** CodeMirror extensions for that unit (a tab is shown four columns wide). */
export function indentExtension(text, language) {
  const unit = indentFor(text, language);
  return [indentUnit.of(unit), EditorState.tabSize.of(4)];
}
