// The project API as the room page uses it (static/src/common/api.js does the requests).
import { ApiError, apiRequest, csrfToken } from "../../common/api.js";

export { ApiError };

export class ProjectApi {
  constructor(roomId) {
    this.base = `/api/rooms/${roomId}/files`;
    this.roomId = roomId;
  }

  request(method, path, body) {
    return apiRequest(method, this.base + path, body);
  }

  tree() {
    return this.request("GET", "");
  }

  read(fileId) {
    return this.request("GET", `/${fileId}`);
  }

  create(path, kind = "file") {
    return this.request("POST", "", { path, kind });
  }

  move(fromPath, toPath) {
    return this.request("POST", "/move", { from_path: fromPath, to_path: toPath });
  }

  remove(path) {
    return this.request("DELETE", `?path=${encodeURIComponent(path)}`);
  }

  upload(uploadId) {
    return this.request("GET", `/uploads/${uploadId}`);
  }

  confirm(uploadId) {
    return this.request("POST", `/uploads/${uploadId}/confirm`);
  }

  cancel(uploadId) {
    return this.request("POST", `/uploads/${uploadId}/cancel`);
  }

  /**
   * Send files with XHR (fetch cannot report upload progress). `entries` is a list of
   * {file, path}; with `asFolder` the relative paths travel in `paths`.
   * Resolves to {status, body}; rejects with ApiError. Returns {promise, abort}.
   */
  send(entries, { asFolder, skipIgnored, onProgress }) {
    const form = new FormData();
    for (const { file, path } of entries) form.append("files", file, asFolder ? path.split("/").pop() : file.name);
    if (asFolder) form.append("paths", JSON.stringify(entries.map((e) => e.path)));
    form.append("skip_ignored", skipIgnored ? "true" : "false");
    const xhr = new XMLHttpRequest();
    const promise = new Promise((resolve, reject) => {
      xhr.open("POST", `${this.base}/uploads`);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded, event.total);
      });
      xhr.addEventListener("load", () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, body: xhr.response });
        else reject(new ApiError(xhr.status, xhr.response));
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, { error: "network", message: "The upload was interrupted: the server could not be reached." })));
      xhr.addEventListener("abort", () => reject(new ApiError(0, { error: "aborted", message: "Upload stopped." })));
      xhr.send(form);
    });
    return { promise, abort: () => xhr.abort() };
  }
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
