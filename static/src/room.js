// The room page: wires the socket to the presence list, the header, the files and the editor.
import { Assistant } from "./room/assist/index.js";
import { EditorArea } from "./room/editor/index.js";
import { RoomPresence } from "./room/editor/people.js";
import { FilesPane } from "./room/projects/index.js";
import { RoomSocket } from "./room/socket.js";
import { TasksPanel } from "./room/agents/index.js";
import { Banner, ConnectionIndicator, refusalText, showRole } from "./room/status.js";

const root = document.getElementById("room");
const banner = new Banner(document.querySelector("[data-banner]"));
const indicator = new ConnectionIndicator(root.querySelector("[data-conn]"));
const roomId = Number(root.dataset.roomId);
const me = {
  id: Number(root.dataset.meId),
  username: root.dataset.meUsername,
  name: root.dataset.meName,
  color: root.dataset.meColor,
};
const files = new FilesPane({ root: document.querySelector("[data-files]"), roomId, role: root.dataset.role });
const editor = new EditorArea({ root: document.querySelector("[data-editor]"), roomId, me, role: root.dataset.role });
const presence = new RoomPresence(
  {
    list: document.querySelector("[data-presence]"),
    count: document.querySelector("[data-presence-count]"),
    empty: document.querySelector("[data-presence-empty]"),
  },
  { onFollow: (userId, name) => editor.follow(userId, name) },
);
const socket = new RoomSocket(root.dataset.wsPath);
const assistant = new Assistant({ socket, editor, me, role: root.dataset.role, root: document.querySelector("[data-assist]") });
const tasks = new TasksPanel({
  root: document.querySelector("[data-tasks]"),
  editor,
  files,
  roomId,
  role: root.dataset.role,
  onShow: () => assistant.showTab("tasks"),
});
editor.extensionsFor = (session) => [assistant.extensionsFor(session), tasks.extensionsFor(session)];

editor.fileLookup = (docId) => files.byDoc.get(docId);
files.addEventListener("open", ({ detail }) => {
  editor.follow(null); // opening a file yourself ends following
  editor.open(detail);
});
let restored = false;
files.addEventListener("changed", () => {
  editor.filesChanged(files.byDoc);
  if (!restored) {
    restored = true;
    editor.restore(files.byDoc);
  }
});
editor.addEventListener("active", ({ detail }) => files.tree.setActive(detail.file ? detail.file.path : null));
editor.addEventListener("where", ({ detail }) => {
  presence.setWhere(detail.where);
  const byPath = new Map();
  for (const [id, { user, viewing }] of detail.where) {
    if (id === me.id || !viewing) continue;
    if (!byPath.has(viewing.path)) byPath.set(viewing.path, []);
    byPath.get(viewing.path).push(user);
  }
  files.tree.setViewers(byPath);
});
editor.addEventListener("following", ({ detail }) => presence.setFollowing(detail.userId));
// Tell the whole room which file this tab shows (also after every reconnect, in hello).
const announceWhere = (viewing) => socket.send({ type: "presence.where", doc_id: viewing ? viewing.doc_id : null, path: viewing ? viewing.path : null });
editor.addEventListener("viewing", ({ detail }) => announceWhere(detail.viewing));
editor.addEventListener("notice", ({ detail }) => banner.show("info", detail.text));

socket.addEventListener("state", ({ detail }) => {
  indicator.set(detail);
  if (detail.state === "reconnecting" || detail.state === "closed") assistant.disconnected();
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

let greeted = false;
const handlers = {
  hello(message) {
    presence.setMe(message.you.id);
    editor.setMe(message.you);
    files.setRole(message.role);
    editor.setRole(message.role);
    assistant.setMe(message.you);
    assistant.setRole(message.role);
    assistant.connected();
    tasks.setRole(message.role);
    tasks.connected();
    if (greeted) files.load(); // after a reconnect, catch up with changes made meanwhile
    greeted = true;
    presence.reset("Only you so far.");
    editor.roomWhere.clear();
    announceWhere(editor.viewing());
    showRole(root, message.role);
    banner.hide();
  },
  "presence.join"(message) {
    presence.join(message.who, message.conn);
    if (message.where !== undefined) editor.setRoomWhere(message.who, message.where);
  },
  "presence.where"(message) {
    editor.setRoomWhere(message.who, message.where);
  },
  "presence.leave"(message) {
    presence.leave(message.who, message.conn);
    if (!presence.people.has(message.who.id)) editor.setRoomWhere(message.who, undefined);
  },
  "role.changed"(message) {
    showRole(root, message.role);
    files.setRole(message.role);
    editor.setRole(message.role);
    assistant.setRole(message.role);
    tasks.setRole(message.role);
    const note = message.role === "viewer" ? "You can now only view this room." : `You are now ${message.role} of this room.`;
    banner.show("info", `Your role changed. ${note}`);
  },
  "agent.presence"(message) {
    presence.agent(message);
  },
  "room.renamed"(message) {
    root.querySelector("[data-room-name]").textContent = message.name;
    document.title = `${message.name} · Flint`;
  },
};

socket.addEventListener("message", ({ detail }) => {
  const handle = handlers[detail.type];
  if (handle) handle(detail);
  else if (detail.type.startsWith("assist.")) assistant.onMessage(detail);
  else if (detail.type.startsWith("task.") || detail.type.startsWith("review.")) tasks.onMessage(detail);
  else if (detail.type === "files.changed" || detail.type === "file.facts" || detail.type.startsWith("upload.")) files.onMessage(detail);
});

files.load();
socket.start();
// Tests and later modules (assistant, tasks) reach the live parts through this.
window.flintRoom = { socket, presence, files, editor, assistant, tasks };
