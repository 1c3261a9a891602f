// The file tree in the room's sidebar: folders collapse, files show their language and
// whether they are read-only. It only renders and reports clicks; FilesPane acts on them.
import { safeColor } from "../../common/color.js";

const LANGUAGE_LABELS = {
  python: "py", javascript: "js", jsx: "jsx", typescript: "ts", tsx: "tsx", json: "{}",
  html: "<>", xml: "<>", vue: "vue", svelte: "sv", css: "css", scss: "css", sass: "css",
  less: "css", markdown: "md", rst: "rst", rust: "rs", go: "go", java: "jv", kotlin: "kt",
  c: "c", cpp: "c++", csharp: "c#", ruby: "rb", php: "php", shell: "sh", sql: "sql",
  yaml: "yml", toml: "tml", ini: "ini", properties: "env", dockerfile: "dkr",
  makefile: "mk", gitignore: "git", text: "txt", diff: "dif", lua: "lua", swift: "swf",
};

const LANGUAGE_COLOURS = {
  py: "#3572a5", js: "#b58900", ts: "#3178c6", tsx: "#3178c6", jsx: "#b58900", "{}": "#7c3aed",
  "<>": "#e34c26", css: "#563d7c", md: "#475569", rs: "#b7410e", go: "#00add8", "c++": "#f34b7d",
  c: "#555555", rb: "#cc342d", sh: "#4eaa25", yml: "#cb171e",
};

export function languageLabel(file) {
  if (file.kind === "binary") return "bin";
  return LANGUAGE_LABELS[file.language] || (file.language ? file.language.slice(0, 3) : "txt");
}

/** Nest the flat API listing: {name, path, folders: Map, files: []}. */
export function buildTree(files, folders) {
  const root = { name: "", path: "", folders: new Map(), files: [] };
  const folderAt = (path) => {
    let node = root;
    if (!path) return node;
    let sofar = "";
    for (const part of path.split("/")) {
      sofar = sofar ? `${sofar}/${part}` : part;
      if (!node.folders.has(part)) node.folders.set(part, { name: part, path: sofar, folders: new Map(), files: [] });
      node = node.folders.get(part);
    }
    return node;
  };
  for (const folder of folders) folderAt(folder);
  for (const file of files) {
    const slash = file.path.lastIndexOf("/");
    folderAt(slash < 0 ? "" : file.path.slice(0, slash)).files.push({ ...file, name: file.path.slice(slash + 1) });
  }
  return root;
}

const ICONS = {
  "+": '<path d="M12 5v14M5 12h14"/>',
  "✎": '<path d="M4 20h4L19 9l-4-4L4 16z"/>',
  "🗑": '<path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13"/>',
};

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: "base" });

export class FileTree extends EventTarget {
  constructor(el, { storageKey, canWrite }) {
    super();
    this.el = el;
    this.storageKey = storageKey;
    this.canWrite = canWrite;
    this.activePath = null;
    this.root = null;
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(storageKey) || "null");
    } catch {
      saved = null;
    }
    this.expanded = new Set(Array.isArray(saved) ? saved : []);
    this.firstRender = !Array.isArray(saved);
    el.addEventListener("click", (event) => this.onClick(event));
    el.addEventListener("keydown", (event) => this.onKey(event));
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setWritable(canWrite) {
    this.canWrite = canWrite;
    if (this.root) this.render();
  }

  set(files, folders) {
    this.root = buildTree(files, folders);
    if (this.firstRender && this.root.folders.size > 0) {
      // First visit: open the top-level folders so the project's shape is visible.
      for (const folder of this.root.folders.values()) this.expanded.add(folder.path);
      this.firstRender = false;
    }
    this.render();
  }

  setActive(path) {
    this.activePath = path;
    for (const row of this.el.querySelectorAll(".tree-row.active")) row.classList.remove("active");
    if (!path) return;
    // Reveal the active file: open every folder above it.
    let changed = false;
    let parent = path;
    while (parent.includes("/")) {
      parent = parent.slice(0, parent.lastIndexOf("/"));
      if (!this.expanded.has(parent)) {
        this.expanded.add(parent);
        changed = true;
      }
    }
    if (changed) this.render();
    const row = this.el.querySelector(`.tree-row[data-path="${CSS.escape(path)}"]`);
    if (row) {
      row.classList.add("active");
      row.scrollIntoView({ block: "nearest" });
    }
  }

  /** Show who is on which file: a coloured dot per person beside the file. */
  setViewers(byPath) {
    this.viewers = byPath;
    for (const holder of this.el.querySelectorAll(".tree-viewers")) holder.replaceChildren();
    for (const [path, people] of byPath) {
      const holder = this.el.querySelector(`.tree-row[data-path="${CSS.escape(path)}"] .tree-viewers`);
      if (!holder) continue;
      for (const who of people) {
        const dot = document.createElement("span");
        dot.className = "dot";
        dot.style.background = safeColor(who.color);
        dot.title = `${who.name} is here`;
        holder.append(dot);
      }
    }
  }

  saveExpanded() {
    try {
      sessionStorage.setItem(this.storageKey, JSON.stringify([...this.expanded]));
    } catch {
      // Private mode or a full storage: the tree simply forgets what was open.
    }
  }

  render() {
    const list = document.createElement("ul");
    list.className = "tree";
    list.setAttribute("role", "tree");
    list.setAttribute("aria-label", "Project files");
    this.renderFolder(this.root, list, 0);
    this.el.replaceChildren(list);
    if (this.activePath) this.setActive(this.activePath);
    if (this.viewers) this.setViewers(this.viewers);
  }

  renderFolder(node, list, depth) {
    for (const folder of [...node.folders.values()].sort(byName)) {
      const open = this.expanded.has(folder.path);
      const li = document.createElement("li");
      li.setAttribute("role", "treeitem");
      li.setAttribute("aria-expanded", String(open));
      li.append(this.row({ kind: "folder", path: folder.path, name: folder.name, depth, open }));
      if (open) {
        const children = document.createElement("ul");
        children.setAttribute("role", "group");
        this.renderFolder(folder, children, depth + 1);
        li.append(children);
      }
      list.append(li);
    }
    for (const file of [...node.files].sort(byName)) {
      const li = document.createElement("li");
      li.setAttribute("role", "treeitem");
      li.append(this.row({ kind: "file", path: file.path, name: file.name, depth, file }));
      list.append(li);
    }
  }

  row({ kind, path, name, depth, open, file }) {
    const row = document.createElement("div");
    row.className = `tree-row ${kind}`;
    row.dataset.path = path;
    row.dataset.kind = kind;
    row.tabIndex = 0;
    row.style.paddingLeft = `${0.6 + depth * 0.9}rem`;
    const icon = document.createElement("span");
    icon.setAttribute("aria-hidden", "true");
    if (kind === "folder") {
      icon.className = `tree-twisty${open ? " open" : ""}`;
      icon.textContent = "▸";
    } else {
      const label = languageLabel(file);
      icon.className = "tree-lang";
      icon.textContent = label;
      icon.style.color = LANGUAGE_COLOURS[label] || "#64748b";
    }
    const text = document.createElement("span");
    text.className = "tree-name";
    text.textContent = name;
    text.title = path;
    row.append(icon, text);
    if (file) {
      row.dataset.fileId = file.id;
      if (!file.editable) {
        row.classList.add("readonly");
        const lock = document.createElement("span");
        lock.className = "tree-flag";
        lock.textContent = file.kind === "binary" ? "binary" : "too big";
        lock.title = "Read-only: download it to see it";
        row.append(lock);
      }
      const viewers = document.createElement("span");
      viewers.className = "tree-viewers";
      row.append(viewers);
    }
    if (this.canWrite) {
      const actions = document.createElement("span");
      actions.className = "tree-actions";
      if (kind === "folder") actions.append(this.action("new-file", "+", `New file in ${path}`));
      actions.append(this.action("rename", "✎", `Rename or move ${path}`), this.action("delete", "🗑", `Delete ${path}`));
      row.append(actions);
    }
    return row;
  }

  action(name, glyph, label) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tree-action";
    button.dataset.action = name;
    button.title = label;
    button.setAttribute("aria-label", label);
    // Inline SVG: emoji glyphs are missing from many Linux fonts.
    button.innerHTML = `<svg width="13" height="13" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${ICONS[glyph]}</svg>`;
    return button;
  }

  toggle(path) {
    if (this.expanded.has(path)) this.expanded.delete(path);
    else this.expanded.add(path);
    this.saveExpanded();
    this.render();
    const row = this.el.querySelector(`.tree-row[data-path="${CSS.escape(path)}"]`);
    if (row) row.focus();
  }

  onClick(event) {
    const row = event.target.closest(".tree-row");
    if (!row) return;
    const button = event.target.closest("[data-action]");
    if (button) {
      this.emit("action", { action: button.dataset.action, path: row.dataset.path, kind: row.dataset.kind });
      return;
    }
    if (row.dataset.kind === "folder") this.toggle(row.dataset.path);
    else this.emit("open", { path: row.dataset.path, fileId: Number(row.dataset.fileId) });
  }

  onKey(event) {
    const row = event.target.closest(".tree-row");
    if (!row || event.target !== row) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      row.click();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const rows = [...this.el.querySelectorAll(".tree-row")];
      const next = rows[rows.indexOf(row) + (event.key === "ArrowDown" ? 1 : -1)];
      if (next) next.focus();
    } else if (event.key === "Delete" && this.canWrite) {
      this.emit("action", { action: "delete", path: row.dataset.path, kind: row.dataset.kind });
    } else if (event.key === "F2" && this.canWrite) {
      this.emit("action", { action: "rename", path: row.dataset.path, kind: row.dataset.kind });
    }
  }
}
