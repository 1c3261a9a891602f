// The "Here now" list, plus where each person is (from the editor's awareness) and a
// click to follow them. Built on the room's PresenceList, which groups connections.
import { PresenceList } from "../presence.js";

export class RoomPresence extends PresenceList {
  constructor(elements, { onFollow }) {
    super(elements);
    this.where = new Map();
    this.following = null;
    this.onFollow = onFollow;
    this.lastEmptyText = undefined;
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("[data-follow-user]");
      if (!button) return;
      const id = Number(button.dataset.followUser);
      this.onFollow(this.following === id ? null : id, button.dataset.name);
    });
  }

  setWhere(where) {
    this.where = where;
    this.render(this.lastEmptyText);
  }

  setFollowing(userId) {
    this.following = userId;
    this.render(this.lastEmptyText);
  }

  render(emptyText) {
    this.lastEmptyText = emptyText;
    super.render(emptyText);
  }

  item(entry) {
    const li = super.item(entry);
    const { who } = entry;
    const known = this.where.get(who.id);
    const place = document.createElement("span");
    place.className = "where";
    place.dataset.where = "";
    if (known && known.viewing) {
      place.textContent = known.viewing.path;
      place.title = `On ${known.viewing.path}`;
    } else {
      place.textContent = who.id === this.meId ? "no file open" : "";
    }
    const name = li.querySelector(".who");
    const text = document.createElement("span");
    text.className = "who-text";
    name.replaceWith(text);
    text.append(name, place);
    if (who.id !== this.meId) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "follow-btn";
      button.dataset.followUser = String(who.id);
      button.dataset.name = who.name;
      const on = this.following === who.id;
      button.textContent = on ? "Following" : "Follow";
      button.setAttribute("aria-pressed", String(on));
      button.title = on ? `Stop following ${who.name}` : `Open ${who.name}'s file and keep their cursor in view`;
      li.classList.toggle("following", on);
      li.append(button);
    }
    return li;
  }
}
