// The room socket: JSON over /ws/rooms/<id>, reconnecting with backoff on network loss.
//
// The server accepts every socket, then refuses with an "error" message followed by a
// close code in the 4000s (editor/core/closecodes.py). Those are decisions, not network
// trouble, so they end the connection for good; any other close is retried.

export const CLOSE = Object.freeze({
  NOT_AUTHENTICATED: 4001,
  FORBIDDEN: 4003,
  NOT_FOUND: 4004,
  MESSAGE_TOO_BIG: 4009,
  BAD_MESSAGE: 4400,
});
const FINAL_CODES = new Set(Object.values(CLOSE));
// Our own code for "this connection went silent": it is retried like a network loss.
const STALE = 4000;

export class RoomSocket extends EventTarget {
  constructor(path, { minDelay = 1000, maxDelay = 30000, pingEvery = 20000, staleAfter = 45000 } = {}) {
    super();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = `${scheme}//${location.host}${path}`;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.pingEvery = pingEvery;
    this.staleAfter = staleAfter;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.pinger = null;
    this.stopped = false;
    this.lastError = null;
    this.lastHeard = 0;
    this.everLive = false;
    window.addEventListener("online", () => this.retryNow());
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close(1000);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  retryNow() {
    if (this.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  connect() {
    this.timer = null;
    this.lastError = null;
    this.emit("state", { state: this.attempt === 0 ? "connecting" : "reconnecting" });
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("message", (event) => this.onMessage(event));
    ws.addEventListener("close", (event) => this.onClose(ws, event));
  }

  onMessage(event) {
    this.lastHeard = Date.now();
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "error") this.lastError = message;
    if (message.type === "hello") {
      this.attempt = 0;
      this.everLive = true;
      this.startPinging();
      this.emit("state", { state: "live" });
    }
    this.emit("message", message);
  }

  startPinging() {
    clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      if (Date.now() - this.lastHeard > this.staleAfter) {
        // No pong for too long: the network dropped without telling us.
        this.ws.close(STALE);
        return;
      }
      this.send({ type: "ping", t: Date.now() });
    }, this.pingEvery);
  }

  onClose(ws, event) {
    if (ws !== this.ws) return;
    clearInterval(this.pinger);
    if (this.stopped) return;
    if (FINAL_CODES.has(event.code)) {
      this.stopped = true;
      this.emit("state", { state: "closed" });
      this.emit("refused", {
        code: event.code,
        message: this.lastError ? this.lastError.message : "",
        wasLive: this.everLive,
      });
      return;
    }
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
    // Jitter spreads the reconnects of a whole room after a server restart.
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    this.attempt += 1;
    this.emit("state", { state: "reconnecting", retryIn: delay, attempt: this.attempt });
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
