// The room header: connection indicator, role badges and the banner for closed sockets.
import { CLOSE } from "./socket.js";

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

export class ConnectionIndicator {
  constructor(el) {
    this.el = el;
    this.text = el.querySelector("[data-conn-text]");
    this.countdown = null;
  }

  set({ state, retryIn }) {
    clearInterval(this.countdown);
    this.el.dataset.state = state;
    this.text.textContent = STATE_TEXT[state] || state;
    if (state === "reconnecting" && retryIn) {
      const until = Date.now() + retryIn;
      const tick = () => {
        const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        this.text.textContent = seconds > 0 ? `Connection lost, retrying in ${seconds}s` : "Reconnecting…";
      };
      tick();
      this.countdown = setInterval(tick, 500);
    }
  }
}

export class Banner {
  constructor(el) {
    this.el = el;
    this.text = el.querySelector("[data-banner-text]");
    this.action = el.querySelector("[data-banner-action]");
  }

  show(kind, text, action = null) {
    this.el.className = `banner room-banner ${kind}`;
    this.text.textContent = text;
    this.action.hidden = !action;
    if (action) {
      this.action.href = action.href;
      this.action.textContent = action.label;
    }
    this.el.hidden = false;
  }

  hide() {
    this.el.hidden = true;
  }
}

export function showRole(root, role) {
  const badge = root.querySelector("[data-role-badge]");
  // The same words as the room settings page: Admin, Editor, Viewer.
  badge.textContent = role.charAt(0).toUpperCase() + role.slice(1);
  badge.className = `badge ${role}`;
  root.querySelector("[data-readonly-badge]").hidden = role !== "viewer";
  root.dataset.role = role;
}

/** What to tell the person when the server closes their room socket for good. */
export function refusalText({ code, message, wasLive }, { loginUrl }) {
  const home = { href: "/rooms/", label: "Back to your rooms" };
  switch (code) {
    case CLOSE.NOT_AUTHENTICATED:
      return {
        text: `Your session has ended${message ? ` (${message})` : ""}. Log in again to rejoin the room.`,
        action: { href: loginUrl, label: "Log in" },
      };
    case CLOSE.FORBIDDEN:
      return {
        text: wasLive
          ? "You were removed from this room, or your access to it ended. Ask a team owner if this is a mistake."
          : message || "You are not a member of this room.",
        action: home,
      };
    case CLOSE.NOT_FOUND:
      return { text: "This room no longer exists: it may have been deleted.", action: home };
    case CLOSE.MESSAGE_TOO_BIG:
      return { text: "The server refused a message that was too big. Reload the page to reconnect.", action: null };
    default:
      return {
        text: `The server closed the connection${message ? `: ${message}` : ""}. Reload the page to reconnect.`,
        action: null,
      };
  }
}
