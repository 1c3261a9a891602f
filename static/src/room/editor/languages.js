// Syntax highlighting by the language the server detected (editor/projects/languages.py).
// Lezer grammars for the common languages, CodeMirror 5 legacy modes for a few more,
// plain text for the rest.
import { cpp } from "@codemirror/lang-cpp";
import { css } from "@codemirror/lang-css";
import { go } from "@codemirror/lang-go";
import { html } from "@codemirror/lang-html";
import { java } from "@codemirror/lang-java";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { markdown } from "@codemirror/lang-markdown";
import { php } from "@codemirror/lang-php";
import { python } from "@codemirror/lang-python";
import { rust } from "@codemirror/lang-rust";
import { sql } from "@codemirror/lang-sql";
import { xml } from "@codemirror/lang-xml";
import { yaml } from "@codemirror/lang-yaml";
import { StreamLanguage } from "@codemirror/language";
import { csharp, kotlin, scala } from "@codemirror/legacy-modes/mode/clike";
import { diff } from "@codemirror/legacy-modes/mode/diff";
import { dockerFile } from "@codemirror/legacy-modes/mode/dockerfile";
import { lua } from "@codemirror/legacy-modes/mode/lua";
import { properties } from "@codemirror/legacy-modes/mode/properties";
import { ruby } from "@codemirror/legacy-modes/mode/ruby";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { swift } from "@codemirror/legacy-modes/mode/swift";
import { toml } from "@codemirror/legacy-modes/mode/toml";

const legacy = (mode) => () => StreamLanguage.define(mode);

const LANGUAGES = {
  python: () => python(),
  javascript: () => javascript(),
  jsx: () => javascript({ jsx: true }),
  typescript: () => javascript({ typescript: true }),
  tsx: () => javascript({ jsx: true, typescript: true }),
  json: () => json(),
  html: () => html(),
  vue: () => html(),
  svelte: () => html(),
  css: () => css(),
  scss: () => css(),
  less: () => css(),
  markdown: () => markdown(),
  rust: () => rust(),
  go: () => go(),
  java: () => java(),
  c: () => cpp(),
  cpp: () => cpp(),
  php: () => php(),
  sql: () => sql(),
  xml: () => xml(),
  yaml: () => yaml(),
  kotlin: legacy(kotlin),
  scala: legacy(scala),
  csharp: legacy(csharp),
  shell: legacy(shell),
  toml: legacy(toml),
  ini: legacy(properties),
  properties: legacy(properties),
  dockerfile: legacy(dockerFile),
  ruby: legacy(ruby),
  lua: legacy(lua),
  swift: legacy(swift),
  diff: legacy(diff),
};

/** The CodeMirror extension for a language name; [] (plain text) when unknown. */
export function languageExtension(name) {
  const make = LANGUAGES[name];
  return make ? make() : [];
}

export function languageName(name) {
  if (!name || !LANGUAGES[name]) return name ? `${name} (plain text)` : "Plain text";
  return { javascript: "JavaScript", typescript: "TypeScript", tsx: "TSX", jsx: "JSX", json: "JSON", html: "HTML", css: "CSS", scss: "SCSS", php: "PHP", sql: "SQL", xml: "XML", yaml: "YAML", toml: "TOML", csharp: "C#", cpp: "C++", ini: "INI" }[name] || name.charAt(0).toUpperCase() + name.slice(1);
}
