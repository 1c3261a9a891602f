// The Files pane: the tree, its write actions (editors and admins only), upload, export.
// It keeps the room's file list fresh ("files.changed" on the room socket) and tells the
// editor which file to open through its "open" event.
import { ProjectApi, formatBytes } from "./api.js";
import { Prompt } from "./dialog.js";
import { FileTree } from "./tree.js";
import { UploadPanel } from "./upload.js";

export class FilesPane extends EventTarget {
  constructor({ root, roomId, role }) {
    super();
    this.root = root;
    this.api = new ProjectApi(roomId);
    this.files = [];
    this.byPath = new Map();
    this.byDoc = new Map();
    this.role = role;
    this.body = root.querySelector("[data-files-body]");
    this.empty = root.querySelector("[data-files-empty]");
    this.error = root.querySelector("[data-files-error]");
    this.summary = root.querySelector("[data-files-summary]");
    this.tree = new FileTree(root.querySelector("[data-files-tree]"), {
      storageKey: `flint.tree.${roomId}`,
      canWrite: this.canWrite,
    });
    this.prompt = new Prompt(document.querySelector("[data-prompt]"));
    this.uploads = new UploadPanel(document.querySelector("[data-upload-dialog]"), {
      api: this.api,
      onApplied: () => this.load(),
    });
    this.tree.addEventListener("open", ({ detail }) => this.emit("open", this.byPath.get(detail.path)));
    this.tree.addEventListener("action", ({ detail }) => this.onAction(detail));
    root.querySelector("[data-files-upload]").addEventListener("click", () => this.uploads.open());
    root.querySelector("[data-files-new-file]").addEventListener("click", () => this.createIn("", "file"));
    root.querySelector("[data-files-new-folder]").addEventListener("click", () => this.createIn("", "folder"));
    this.uploads.acceptDropsOn(root);
    this.applyRole();
  }

  get canWrite() {
    return this.role === "admin" || this.role === "editor";
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setRole(role) {
    this.role = role;
    this.applyRole();
  }

  applyRole() {
    for (const el of this.root.querySelectorAll("[data-write-only]")) el.hidden = !this.canWrite;
    this.tree.setWritable(this.canWrite);
    if (!this.canWrite) {
      this.uploads.close();
      this.prompt.close();
    }
  }

  async load() {
    let tree;
    try {
      tree = await this.api.tree();
    } catch (error) {
      this.error.textContent = `The file list could not be loaded: ${error.message}`;
      this.error.hidden = false;
      return;
    }
    this.error.hidden = true;
    this.files = tree.files;
    this.byPath = new Map(tree.files.map((f) => [f.path, f]));
    this.byDoc = new Map(tree.files.map((f) => [f.doc_id, f]));
    this.uploads.setLimits(tree.limits);
    this.tree.set(tree.files, tree.folders);
    const empty = tree.files.length === 0 && tree.folders.length === 0;
    this.empty.hidden = !empty;
    this.renderSummary();
    this.emit("changed", { files: this.files });
  }

  renderSummary() {
    const files = this.files;
    const bytes = files.reduce((sum, f) => sum + f.size, 0);
    this.summary.textContent = files.length === 0 ? "" : `${files.length.toLocaleString()} file${files.length === 1 ? "" : "s"} · ${formatBytes(bytes)}`;
  }

  /** Someone's edits reached the file's row: its size and who changed it last. */
  updateFacts({ doc_id: docId, size, updated_at: updatedAt, updated_by: updatedBy }) {
    const file = this.byDoc && this.byDoc.get(docId);
    if (!file) return;
    Object.assign(file, { size, updated_at: updatedAt, updated_by: updatedBy });
    this.renderSummary();
  }

  /** Room socket messages: file changes by anyone, and our uploads' progress. */
  onMessage(message) {
    if (message.type === "files.changed") {
      // Bursts (a big upload, a folder move) come as one event, but be gentle anyway.
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => this.load(), 150);
    } else if (message.type === "file.facts") {
      this.updateFacts(message);
    } else if (message.type.startsWith("upload.")) {
      this.uploads.onEvent(message);
    }
  }

  onAction({ action, path, kind }) {
    if (action === "new-file") this.createIn(path, "file");
    else if (action === "rename") this.rename(path, kind);
    else if (action === "delete") this.remove(path, kind);
  }

  createIn(folder, kind) {
    const prefix = folder ? `${folder}/` : "";
    return this.prompt.ask({
      title: kind === "folder" ? "New folder" : "New file",
      label: "Path in the project",
      value: prefix,
      okLabel: "Create",
      run: async (path) => {
        const created = await this.api.create(path, kind);
        await this.load();
        if (created.file) this.emit("open", created.file);
        return created;
      },
    });
  }

  rename(path, kind) {
    return this.prompt.ask({
      title: kind === "folder" ? "Rename or move folder" : "Rename or move file",
      text: "Give the new path; folders in it are created. Open editors follow the file.",
      label: "New path",
      value: path,
      okLabel: "Rename",
      run: async (to) => {
        if (to === path) return path;
        const moved = await this.api.move(path, to);
        await this.load();
        return moved;
      },
    });
  }

  remove(path, kind) {
    const inside = kind === "folder" ? this.files.filter((f) => f.path.startsWith(`${path}/`)).length : 0;
    return this.prompt.ask({
      title: kind === "folder" ? "Delete folder?" : "Delete file?",
      text:
        kind === "folder"
          ? `${path} and the ${inside} file${inside === 1 ? "" : "s"} in it will be deleted for everyone in the room.`
          : `${path} will be deleted for everyone in the room.`,
      okLabel: "Delete",
      danger: true,
      run: async () => {
        const deleted = await this.api.remove(path);
        await this.load();
        return deleted;
      },
    });
  }
}
