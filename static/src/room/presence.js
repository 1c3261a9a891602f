// Who is in the room now, grouped by person (one entry even with several tabs open).
import { safeColor } from "../common/color.js";

export class PresenceList {
  constructor({ list, count, empty }) {
    this.list = list;
    this.count = count;
    this.empty = empty;
    this.people = new Map(); // user id -> { who, conns: Map conn -> "browser" | "terminal" }
    this.agents = new Map(); // task id -> { name, paths, active, timer }: tasks writing now
    this.meId = null;
  }

  /** An `agent.presence` event: a task's changes are being applied (active), or were. It
   * stays listed `hold_s` after, as long as its cursor stays in the documents. */
  agent({ task, name, paths, active, hold_s: holdS }) {
    const known = this.agents.get(task);
    if (known) clearTimeout(known.timer);
    const entry = { name: String(name), paths: Array.isArray(paths) ? paths.map(String) : [], active: Boolean(active), timer: null };
    if (!entry.active) {
      entry.timer = setTimeout(() => {
        this.agents.delete(task);
        this.render(this.lastEmpty);
      }, Math.max(0, Number(holdS) || 0) * 1000);
    }
    this.agents.set(task, entry);
    this.render(this.lastEmpty);
  }

  setMe(id) {
    this.meId = id;
  }

  join(who, conn) {
    const entry = this.people.get(who.id) || { who, conns: new Map() };
    entry.who = who; // names and colours may have changed since the last message
    entry.conns.set(conn, who.client === "terminal" ? "terminal" : "browser");
    this.people.set(who.id, entry);
    this.render();
  }

  leave(who, conn) {
    const entry = this.people.get(who.id);
    if (!entry) return;
    entry.conns.delete(conn);
    if (entry.conns.size === 0) this.people.delete(who.id);
    this.render();
  }

  /** Forget everyone: after a reconnect the server tells us again who is here. */
  reset(emptyText) {
    this.people.clear();
    this.render(emptyText);
  }

  render(emptyText = "Nobody is here.") {
    this.lastEmpty = emptyText;
    const entries = [...this.people.values()].sort((a, b) => {
      if (a.who.id === this.meId) return -1;
      if (b.who.id === this.meId) return 1;
      return a.who.name.localeCompare(b.who.name);
    });
    const agents = [...this.agents.entries()].map(([task, agent]) => this.agentItem(task, agent));
    this.list.replaceChildren(...entries.map((entry) => this.item(entry)), ...agents);
    this.count.textContent = String(entries.length);
    this.empty.hidden = entries.length > 0;
    this.empty.textContent = emptyText;
  }

  agentItem(task, { name, paths, active }) {
    const li = document.createElement("li");
    li.className = "agent";
    li.dataset.agentTask = String(task);
    const avatar = document.createElement("span");
    avatar.className = "avatar agent-avatar";
    avatar.setAttribute("aria-hidden", "true");
    avatar.textContent = "⚙";
    const text = document.createElement("span");
    text.className = "who-text";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = name;
    const where = document.createElement("span");
    where.className = "where";
    const files = paths.length === 1 ? paths[0] : `${paths.length} files`;
    where.textContent = active ? `applying ${files}` : `applied ${files}`;
    text.append(who, where);
    li.append(avatar, text);
    return li;
  }

  item({ who, conns }) {
    const li = document.createElement("li");
    li.dataset.user = who.username;
    const avatar = document.createElement("span");
    avatar.className = "avatar";
    avatar.style.background = safeColor(who.color);
    avatar.setAttribute("aria-hidden", "true");
    avatar.textContent = (who.name || who.username).charAt(0).toUpperCase();
    const name = document.createElement("span");
    name.className = "who";
    // `flint sync` and the other commands connect as "terminal" (docs/PROTOCOL.md).
    const kinds = [...conns.values()];
    const terminals = kinds.filter((kind) => kind === "terminal").length;
    name.textContent = terminals === kinds.length ? `${who.name} (terminal)` : who.name;
    name.title = `@${who.username}`;
    li.append(avatar, name);
    if (who.id === this.meId) {
      const you = document.createElement("span");
      you.className = "you";
      you.textContent = "you";
      li.append(you);
    }
    const tabs = kinds.length - terminals;
    if (tabs > 1 || (terminals > 0 && tabs > 0)) {
      const count = document.createElement("span");
      count.className = "tabs";
      count.textContent = terminals > 0 ? `${tabs} tabs + terminal` : `${tabs} tabs`;
      li.append(count);
    }
    return li;
  }
}
