// The deep-task and review API (docs/AGENTS.md) as the room page uses it: JSON over fetch
// with the session cookie and the CSRF token, errors as ApiError with the server's message.
import { apiRequest } from "../../common/api.js";

export class TasksApi {
  constructor(roomId) {
    this.base = `/api/rooms/${roomId}`;
  }

  request(method, path, body) {
    return apiRequest(method, this.base + path, body);
  }

  list() {
    return this.request("GET", "/tasks");
  }

  detail(taskId) {
    return this.request("GET", `/tasks/${taskId}`);
  }

  start({ prompt, scope, attempts, planFirst = false }) {
    return this.request("POST", "/tasks", { prompt, scope: scope.length ? scope : null, attempts, plan_first: planFirst });
  }

  message(taskId, text) {
    return this.request("POST", `/tasks/${taskId}/messages`, { text });
  }

  /** `body`: {decision: "approve"|"reject", plan?: {steps, files}, message?}. */
  plan(taskId, body) {
    return this.request("POST", `/tasks/${taskId}/plan`, body);
  }

  followUp(taskId, prompt) {
    return this.request("POST", `/tasks/${taskId}/follow-up`, { prompt });
  }

  cancel(taskId) {
    return this.request("POST", `/tasks/${taskId}/cancel`);
  }

  retry(taskId) {
    return this.request("POST", `/tasks/${taskId}/retry`);
  }

  /** `what`: {} (everything pending), {paths: [...]} or {hunks: {path: [index, ...]}}. */
  apply(taskId, what = {}) {
    return this.request("POST", `/tasks/${taskId}/apply`, what);
  }

  undo(taskId, paths = null) {
    return this.request("POST", `/tasks/${taskId}/undo`, paths ? { paths } : {});
  }

  reject(taskId, paths = null) {
    return this.request("POST", `/tasks/${taskId}/reject`, paths ? { paths } : {});
  }

  pick(taskId) {
    return this.request("POST", `/tasks/${taskId}/pick`);
  }

  /** The room's applied change sets, newest first (docs/AGENTS.md, "Checkpoints"). */
  checkpoints() {
    return this.request("GET", "/checkpoints");
  }

  undoCheckpoint(checkpointId) {
    return this.request("POST", `/checkpoints/${checkpointId}/undo`);
  }

  reviewFile(path) {
    return this.request("POST", "/reviews", { target: "file", path });
  }

  reviewTask(taskId) {
    return this.request("POST", "/reviews", { target: "task", task_id: taskId });
  }

  comments({ resolved } = {}) {
    const query = resolved === undefined ? "" : `?resolved=${resolved}`;
    return this.request("GET", `/comments${query}`);
  }

  resolve(commentId, resolved = true) {
    return this.request("POST", `/comments/${commentId}/resolve`, { resolved });
  }
}
