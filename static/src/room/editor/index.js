// The editor area: tabs of open files, one live DocSession per open text file, a status
// bar with the document's connection state, and following another person.
//
// Where each person is: the room socket's presence.where tells the whole room which file
// each connection shows; Yjs awareness (every open document of this tab carries
// `viewing`) refines it for documents we share (docs/PROTOCOL.md, "Who is on which file").
import { safeColor } from "../../common/color.js";
import { formatBytes } from "../projects/api.js";
import { languageName } from "./languages.js";
import { DocSession } from "./session.js";

const STATE_TEXT = { synced: "Synced", syncing: "Syncing…", offline: "Offline: edits are kept and sent on reconnect", refused: "Closed" };

export class EditorArea extends EventTarget {
  constructor({ root, roomId, me, role }) {
    super();
    this.root = root;
    this.roomId = roomId;
    this.me = me;
    this.role = role;
    this.tabs = new Map(); // doc_id -> {file, session|null, el}
    this.active = null; // doc_id
    this.following = null; // user id
    this.extensionsFor = null; // (session) => CodeMirror extensions, set by the assistant
    this.roomWhere = new Map(); // user id -> {user, viewing}, from the room socket
    this.tabBar = root.querySelector("[data-editor-tabs]");
    this.stage = root.querySelector("[data-editor-stage]");
    this.empty = root.querySelector("[data-editor-empty]");
    this.readonlyPanel = root.querySelector("[data-editor-readonly]");
    this.status = root.querySelector("[data-editor-status]");
    this.conn = root.querySelector("[data-doc-conn]");
    this.storageKey = `flint.tabs.${roomId}`;
    this.tabBar.addEventListener("click", (event) => this.onTabClick(event));
    this.tabBar.addEventListener("auxclick", (event) => {
      const tab = event.target.closest("[data-doc-id]");
      if (tab && event.button === 1) this.close(tab.dataset.docId);
    });
    root.querySelector("[data-follow-stop]").addEventListener("click", () => this.follow(null));
    // Unsent edits are kept in this browser for the next visit, but say so before leaving.
    window.addEventListener("beforeunload", (event) => {
      if (!this.hasUnsent()) return;
      event.preventDefault();
      event.returnValue = "";
    });
  }

  hasUnsent() {
    return [...this.tabs.values()].some(({ session }) => session && session.hasUnsent());
  }

  get readOnly() {
    return this.role === "viewer";
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setMe(me) {
    this.me = me;
    for (const { session } of this.tabs.values()) {
      if (session) session.awareness.setLocalStateField("user", { ...session.awareness.getLocalState().user, name: me.name, color: safeColor(me.color), colorLight: `${safeColor(me.color)}33` });
    }
  }

  setRole(role) {
    this.role = role;
    for (const { session } of this.tabs.values()) if (session) session.setReadOnly(this.readOnly);
    this.renderStatus();
  }

  /** Open a file (or show it if it is open) and make it the active tab. */
  open(file, { focus = true } = {}) {
    if (!file) return null;
    let tab = this.tabs.get(file.doc_id);
    if (!tab) {
      const session = file.editable ? new DocSession({ file, user: this.me, readOnly: this.readOnly, parent: this.stage, extensions: this.extensionsFor }) : null;
      tab = { file, session, el: this.tabElement(file) };
      this.tabs.set(file.doc_id, tab);
      this.tabBar.append(tab.el);
      if (session) {
        session.addEventListener("state", () => {
          this.renderTab(tab);
          if (this.active === file.doc_id) this.renderStatus();
        });
        session.addEventListener("cursor", () => {
          if (this.active === file.doc_id) this.renderStatus();
        });
        session.awareness.on("change", () => this.peersChanged());
        session.addEventListener("readonly-attempt", () => this.explainReadOnly());
      }
    }
    this.activate(file.doc_id, { focus });
    this.saveTabs();
    return tab;
  }

  tabElement(file) {
    const el = document.createElement("div");
    el.className = "tab";
    el.setAttribute("role", "tab");
    el.dataset.docId = file.doc_id;
    el.tabIndex = 0;
    el.innerHTML = '<span class="tab-state dot" aria-hidden="true"></span><span class="tab-name"></span><button type="button" class="tab-close" aria-label="Close">×</button>';
    return el;
  }

  renderTab(tab) {
    const { el, file, session } = tab;
    const name = file.path.slice(file.path.lastIndexOf("/") + 1);
    el.querySelector(".tab-name").textContent = name;
    el.title = file.path;
    el.querySelector(".tab-close").setAttribute("aria-label", `Close ${name}`);
    el.dataset.state = session ? session.state : "readonly";
    el.setAttribute("aria-selected", String(this.active === file.doc_id));
  }

  activate(docId, { focus = true } = {}) {
    this.active = docId;
    for (const tab of this.tabs.values()) {
      if (tab.session) tab.session.show(tab.file.doc_id === docId);
      this.renderTab(tab);
    }
    const tab = this.tabs.get(docId);
    this.empty.hidden = Boolean(tab);
    this.tabBar.hidden = this.tabs.size === 0;
    this.status.hidden = !tab;
    this.readonlyPanel.hidden = !tab || Boolean(tab.session);
    if (tab && !tab.session) this.renderReadonly(tab.file);
    if (tab) {
      tab.el.scrollIntoView({ block: "nearest", inline: "nearest" });
      if (tab.session && focus) tab.session.focus();
    }
    this.renderStatus();
    this.announceViewing();
    this.emit("active", { file: tab ? tab.file : null });
    this.saveTabs();
  }

  renderReadonly(file) {
    const panel = this.readonlyPanel;
    panel.querySelector("[data-readonly-path]").textContent = file.path;
    panel.querySelector("[data-readonly-why]").textContent =
      file.kind === "binary"
        ? `A binary file (${formatBytes(file.size)}): Flint keeps it but cannot show it as text.`
        : `A text file of ${formatBytes(file.size)}: too big to edit in the browser, so it is read-only.`;
    panel.querySelector("[data-readonly-download]").href = `/rooms/${this.roomId}/files/${file.id}/raw`;
  }

  renderStatus() {
    const tab = this.tabs.get(this.active);
    if (!tab) return;
    const { file, session } = tab;
    this.status.querySelector("[data-status-path]").textContent = file.path;
    this.status.querySelector("[data-status-lang]").textContent = file.editable ? languageName(file.language) : file.kind === "binary" ? "Binary" : "Too big to edit";
    const pos = this.status.querySelector("[data-status-pos]");
    const ro = this.status.querySelector("[data-status-readonly]");
    ro.hidden = Boolean(session) && !this.readOnly;
    ro.textContent = session ? "Read-only: you are a viewer" : "Read-only file";
    if (session) {
      const { line, column } = session.cursorInfo();
      pos.textContent = `Ln ${line}, Col ${column}`;
      this.conn.hidden = false;
      this.conn.dataset.state = session.state;
      this.conn.querySelector("[data-doc-conn-text]").textContent = session.refusal ? session.refusal.message : STATE_TEXT[session.state];
    } else {
      pos.textContent = "";
      this.conn.hidden = true;
    }
  }

  /** A viewer tried to type: say once, briefly, why not and who can change it. */
  explainReadOnly() {
    const note = this.root.querySelector("[data-readonly-note]");
    note.hidden = false;
    clearTimeout(this.readOnlyNoteTimer);
    this.readOnlyNoteTimer = setTimeout(() => (note.hidden = true), 6000);
  }

  close(docId) {
    const tab = this.tabs.get(docId);
    if (!tab) return;
    const order = [...this.tabs.keys()];
    const index = order.indexOf(docId);
    if (tab.session) tab.session.destroy();
    tab.el.remove();
    this.tabs.delete(docId);
    if (this.active === docId) {
      const next = order[index + 1] || order[index - 1];
      this.active = null;
      if (next && this.tabs.has(next)) this.activate(next);
      else this.activate(null);
    }
    this.peersChanged();
    this.saveTabs();
  }

  onTabClick(event) {
    const tab = event.target.closest("[data-doc-id]");
    if (!tab) return;
    if (event.target.closest(".tab-close")) this.close(tab.dataset.docId);
    else {
      this.follow(null); // choosing a tab yourself ends following
      this.activate(tab.dataset.docId);
    }
  }

  /** The room's files changed: follow renames, close tabs of deleted files. */
  filesChanged(byDoc) {
    for (const [docId, tab] of [...this.tabs]) {
      const file = byDoc.get(docId);
      if (!file) {
        this.close(docId);
        this.emit("notice", { text: `${tab.file.path} was deleted; its tab was closed.` });
        continue;
      }
      if (file.editable !== tab.file.editable) {
        this.close(docId);
        this.open(file, { focus: false });
        continue;
      }
      tab.file = file;
      if (tab.session) tab.session.setFile(file);
      this.renderTab(tab);
    }
    this.renderStatus();
    this.announceViewing();
  }

  /** Restore this browser tab's open files after a reload. */
  restore(byDoc) {
    let saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(this.storageKey) || "null");
    } catch {
      saved = null;
    }
    if (!saved || !Array.isArray(saved.open)) return;
    for (const docId of saved.open) if (byDoc.has(docId)) this.open(byDoc.get(docId), { focus: false });
    if (saved.active && this.tabs.has(saved.active)) this.activate(saved.active, { focus: false });
  }

  saveTabs() {
    try {
      sessionStorage.setItem(this.storageKey, JSON.stringify({ open: [...this.tabs.keys()], active: this.active }));
    } catch {
      // Storage unavailable: tabs are not restored after a reload, nothing else changes.
    }
  }

  // --- presence: who is on which file, following ---------------------------------------

  announceViewing() {
    const tab = this.tabs.get(this.active);
    const viewing = tab ? { doc_id: tab.file.doc_id, path: tab.file.path } : null;
    for (const { session } of this.tabs.values()) {
      if (session) session.awareness.setLocalStateField("viewing", viewing);
    }
    this.emit("viewing", { viewing });
  }

  /** The file this tab shows, for the room socket's presence.where. */
  viewing() {
    const tab = this.tabs.get(this.active);
    return tab ? { doc_id: tab.file.doc_id, path: tab.file.path } : null;
  }

  /** What the room socket says about where a person is (null: no file open, or gone). */
  setRoomWhere(user, viewing) {
    if (user.id === this.me.id) return;
    if (viewing === undefined) this.roomWhere.delete(user.id);
    else this.roomWhere.set(user.id, { user, viewing });
    this.peersChanged();
  }

  /** user id -> {user, viewing, docId of a session where we saw them}. */
  where() {
    const out = new Map(this.roomWhere);
    for (const { session } of this.tabs.values()) {
      if (!session) continue;
      for (const peer of session.peers()) {
        if (peer.user.id === this.me.id) continue; // my other browser tabs
        const known = out.get(peer.user.id);
        // A person seen in several documents: the one they are looking at wins; awareness
        // is fresher than the room socket for documents we share.
        if (!known || this.roomWhere.get(peer.user.id) === known || (peer.viewing && peer.viewing.doc_id === session.docId)) {
          out.set(peer.user.id, { user: peer.user, viewing: peer.viewing || null });
        }
      }
    }
    const mine = this.tabs.get(this.active);
    out.set(this.me.id, { user: this.me, viewing: mine ? { doc_id: mine.file.doc_id, path: mine.file.path } : null });
    return out;
  }

  peersChanged() {
    clearTimeout(this.peersTimer);
    // Cursor moves arrive many times a second; the lists need not redraw that often.
    this.peersTimer = setTimeout(() => {
      const where = this.where();
      this.emit("where", { where });
      if (this.following) this.followStep(where);
    }, 50);
  }

  follow(userId, name = "") {
    this.following = userId;
    const bar = this.root.querySelector("[data-follow]");
    bar.hidden = !userId;
    if (userId) {
      bar.querySelector("[data-follow-name]").textContent = name;
      this.followStep(this.where(), { force: true });
    }
    this.emit("following", { userId });
  }

  followStep(where, { force = false } = {}) {
    const them = where.get(this.following);
    if (!them || !them.viewing) {
      if (force) this.emit("notice", { text: "Flint does not know which file they are on yet: open a file they have open." });
      return;
    }
    const docId = them.viewing.doc_id;
    if (this.active !== docId) {
      const file = this.fileLookup ? this.fileLookup(docId) : null;
      if (!file) return;
      this.open(file, { focus: false });
      // Their cursor arrives with the document's awareness, just after the sync.
      const tab = this.tabs.get(docId);
      if (tab && tab.session) {
        const once = () => {
          if (this.following === them.user.id) tab.session.revealPeer(them.user.id);
        };
        tab.session.provider.once("sync", once);
      }
      return;
    }
    const tab = this.tabs.get(docId);
    if (tab && tab.session) tab.session.revealPeer(them.user.id);
  }
}
