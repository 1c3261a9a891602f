// The room page: wires the socket to the presence list and the header.
import { PresenceList } from "./room/presence.js";
import { RoomSocket } from "./room/socket.js";
import { Banner, ConnectionIndicator, refusalText, showRole } from "./room/status.js";

const root = document.getElementById("room");
const banner = new Banner(document.querySelector("[data-banner]"));
const indicator = new ConnectionIndicator(root.querySelector("[data-conn]"));
const presence = new PresenceList({
  list: document.querySelector("[data-presence]"),
  count: document.querySelector("[data-presence-count]"),
  empty: document.querySelector("[data-presence-empty]"),
});
const socket = new RoomSocket(root.dataset.wsPath);

socket.addEventListener("state", ({ detail }) => {
  indicator.set(detail);
  if (detail.state === "reconnecting") {
    presence.reset("Offline: the list comes back when the connection does.");
    banner.show("warning", "Connection lost. Flint is reconnecting; nothing you see is lost.");
  }
});

socket.addEventListener("refused", ({ detail }) => {
  presence.reset("Not connected.");
  const { text, action } = refusalText(detail, { loginUrl: root.dataset.loginUrl });
  banner.show("error", text, action);
});

const handlers = {
  hello(message) {
    presence.setMe(message.you.id);
    presence.reset("Only you so far.");
    showRole(root, message.role);
    banner.hide();
  },
  "presence.join"(message) {
    presence.join(message.who, message.conn);
  },
  "presence.leave"(message) {
    presence.leave(message.who, message.conn);
  },
  "role.changed"(message) {
    showRole(root, message.role);
    const note = message.role === "viewer" ? "You can now only view this room." : `You are now ${message.role} of this room.`;
    banner.show("info", `Your role changed. ${note}`);
  },
  "room.renamed"(message) {
    root.querySelector("[data-room-name]").textContent = message.name;
    document.title = `${message.name} · Flint`;
  },
};

socket.addEventListener("message", ({ detail }) => {
  const handle = handlers[detail.type];
  if (handle) handle(detail);
});

socket.start();
// Tests and later modules (editor, assistant) reach the live socket through this.
window.flintRoom = { socket, presence };
