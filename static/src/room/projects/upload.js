// Uploading into the room: pick or drop an archive, a folder or files; watch the transfer
// and (for large uploads, processed by a worker) the ingest; read the plan; confirm.
//
// Nothing in the project changes until Confirm: the server stages the upload first.
import { ApiError, formatBytes } from "./api.js";

const ARCHIVE = /\.(zip|tar\.gz|tgz|tar)$/i;

/** Every file under the dropped items, with its path relative to the drop. */
export async function filesFromDrop(dataTransfer) {
  const entries = [...dataTransfer.items]
    .filter((item) => item.kind === "file")
    .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
  if (entries.length === 0 || entries.some((entry) => !entry)) {
    return { entries: [...dataTransfer.files].map((file) => ({ file, path: file.name })), folder: false };
  }
  const out = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\/+/, "") });
      return;
    }
    const reader = entry.createReader();
    // readEntries answers in batches (100 in Chromium) until it answers an empty one.
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const child of batch) await walk(child);
    }
  };
  for (const entry of entries) await walk(entry);
  return { entries: out, folder: entries.some((entry) => entry.isDirectory) || entries.length > 1 };
}

export class UploadPanel {
  constructor(dialog, { api, onApplied }) {
    this.dialog = dialog;
    this.api = api;
    this.onApplied = onApplied;
    this.limits = null;
    this.upload = null; // the staged upload we are showing
    this.sending = null;
    this.q = (name) => dialog.querySelector(`[data-upload-${name}]`);
    this.steps = dialog.querySelectorAll("[data-step]");
    this.q("files").addEventListener("change", (event) => this.picked(event.target, false));
    this.q("folder").addEventListener("change", (event) => this.picked(event.target, true));
    this.q("confirm").addEventListener("click", () => this.confirm());
    for (const button of dialog.querySelectorAll("[data-upload-close]")) {
      button.addEventListener("click", () => this.close());
    }
    this.q("again").addEventListener("click", () => this.show("choose"));
    for (const button of dialog.querySelectorAll("[data-upload-cancel]")) {
      button.addEventListener("click", () => this.cancel());
    }
    dialog.addEventListener("cancel", (event) => {
      // Esc while something is in flight would hide it without stopping it.
      if (this.step === "sending" || this.step === "ingest" || this.step === "plan") {
        event.preventDefault();
        this.cancel();
      }
    });
    const zone = this.q("zone");
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      this.dropped(event.dataTransfer);
    });
  }

  setLimits(limits) {
    this.limits = limits;
    this.q("limits").textContent =
      `Up to ${formatBytes(limits.upload_max_bytes)} per upload (${formatBytes(limits.upload_max_expanded_bytes)} ` +
      `unpacked), ${limits.upload_max_files.toLocaleString()} files. Text files up to ` +
      `${formatBytes(limits.editable_max_bytes)} are editable; bigger and binary files are kept read-only.`;
  }

  open() {
    if (!this.dialog.open) this.dialog.showModal();
    if (!this.step || this.step === "done" || this.step === "error") this.show("choose");
  }

  close() {
    if (this.dialog.open) this.dialog.close();
    this.step = null;
  }

  show(step) {
    this.step = step;
    for (const el of this.steps) el.hidden = el.dataset.step !== step;
    if (step === "choose") {
      this.upload = null;
      this.q("files").value = "";
      this.q("folder").value = "";
    }
  }

  fail(message) {
    this.show("error");
    this.q("error").textContent = message;
  }

  picked(input, folder) {
    const entries = [...input.files].map((file) => ({ file, path: folder ? file.webkitRelativePath || file.name : file.name }));
    this.start(entries, folder);
  }

  async dropped(dataTransfer) {
    try {
      const { entries, folder } = await filesFromDrop(dataTransfer);
      this.open();
      this.start(entries, folder);
    } catch {
      this.open();
      this.fail("The dropped files could not be read by the browser. Try the folder picker instead.");
    }
  }

  /** A drop anywhere on `target` (the sidebar) starts an upload too. */
  acceptDropsOn(target) {
    target.addEventListener("dragover", (event) => {
      if (![...event.dataTransfer.types].includes("Files")) return;
      event.preventDefault();
      target.classList.add("drop-target");
    });
    target.addEventListener("dragleave", (event) => {
      if (!target.contains(event.relatedTarget)) target.classList.remove("drop-target");
    });
    target.addEventListener("drop", (event) => {
      if (![...event.dataTransfer.types].includes("Files")) return;
      event.preventDefault();
      target.classList.remove("drop-target");
      this.dropped(event.dataTransfer);
    });
  }

  async start(entries, folder) {
    if (entries.length === 0) {
      this.fail("That folder is empty: there is nothing to upload.");
      return;
    }
    const total = entries.reduce((sum, e) => sum + e.file.size, 0);
    if (this.limits && total > this.limits.upload_max_bytes) {
      this.fail(`The upload is ${formatBytes(total)}; at most ${formatBytes(this.limits.upload_max_bytes)} can be uploaded at once.`);
      return;
    }
    if (this.limits && entries.length > this.limits.upload_max_files) {
      this.fail(`The upload has ${entries.length.toLocaleString()} files; a project holds at most ${this.limits.upload_max_files.toLocaleString()}.`);
      return;
    }
    const single = entries.length === 1 && !folder;
    const what = single ? entries[0].path : `${entries.length.toLocaleString()} files`;
    this.show("sending");
    this.q("sending-what").textContent = single && ARCHIVE.test(entries[0].path) ? `${what} (archive)` : what;
    this.progress("transfer", 0, total, "bytes");
    this.sending = this.api.send(entries, {
      asFolder: !single,
      skipIgnored: this.q("skip").checked,
      onProgress: (loaded, size) => this.progress("transfer", loaded, size, "bytes"),
    });
    let answer;
    try {
      answer = await this.sending.promise;
    } catch (error) {
      this.sending = null;
      if (error.code === "aborted") this.show("choose");
      else this.fail(error.message);
      return;
    }
    this.sending = null;
    this.upload = answer.body;
    this.background = answer.status === 202; // staged by a worker: shows the ingest bar
    if (this.background) {
      this.show("ingest");
      this.progress("ingest", answer.body.progress_done, answer.body.progress_total, "files");
      this.poll();
    } else {
      this.showPlan(answer.body);
    }
  }

  progress(which, done, total, unit) {
    const bar = this.q(`${which}-bar`);
    const label = this.q(`${which}-label`);
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    bar.value = fraction;
    bar.max = 1;
    if (total <= 0) {
      bar.removeAttribute("value"); // indeterminate until the worker knows the count
      label.textContent = unit === "files" ? "Waiting for a worker…" : "Starting…";
    } else if (unit === "bytes") {
      label.textContent = `${formatBytes(done)} of ${formatBytes(total)} (${Math.round(fraction * 100)}%)`;
    } else {
      label.textContent = `${done.toLocaleString()} of ${total.toLocaleString()} files read (${Math.round(fraction * 100)}%)`;
    }
  }

  /** Room socket events about uploads; only the one we are showing matters. */
  onEvent(message) {
    if (!this.upload || message.upload_id !== this.upload.id) return;
    if (message.type === "upload.progress" && this.step === "ingest") {
      this.progress("ingest", message.done, message.total, "files");
    } else if (message.type === "upload.ready") {
      this.refresh();
    } else if (message.type === "upload.failed") {
      this.fail(message.error);
    } else if (message.type === "upload.cancelled" && this.step !== "choose") {
      this.close();
    }
  }

  /** Events can be missed across a reconnect, so the state is also polled, slowly. */
  poll() {
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(async () => {
      if (this.step !== "ingest") return;
      await this.refresh();
      this.poll();
    }, 3000);
  }

  async refresh() {
    if (!this.upload) return;
    let upload;
    try {
      upload = await this.api.upload(this.upload.id);
    } catch (error) {
      if (error.status) this.fail(error.message);
      return;
    }
    if (!this.upload || upload.id !== this.upload.id) return;
    this.upload = upload;
    if (upload.status === "ready" && this.step === "ingest") this.showPlan(upload);
    else if (upload.status === "failed") this.fail(upload.error);
    else if (upload.status === "processing" || upload.status === "queued") {
      this.progress("ingest", upload.progress_done, upload.progress_total, "files");
    }
  }

  showPlan(upload) {
    this.upload = upload;
    this.show("plan");
    const { plan } = upload;
    const counts = plan.counts;
    this.q("plan-source").textContent = `${upload.source_name} · ${formatBytes(plan.bytes || upload.source_size)}`;
    const list = this.q("plan");
    list.replaceChildren();
    const section = (key, title, items, describe) => {
      const count = counts[key] || 0;
      const details = document.createElement("details");
      details.className = `plan-group ${key}`;
      details.dataset.plan = key;
      details.open = count > 0 && count <= 8 && key !== "unchanged";
      const summary = document.createElement("summary");
      summary.innerHTML = `<span class="plan-count"></span> <span class="plan-title"></span>`;
      summary.querySelector(".plan-count").textContent = count.toLocaleString();
      summary.querySelector(".plan-title").textContent = title;
      details.append(summary);
      if (count > 0) {
        const ul = document.createElement("ul");
        const shown = items.slice(0, 50);
        for (const item of shown) {
          const li = document.createElement("li");
          li.textContent = describe(item);
          ul.append(li);
        }
        if (count > shown.length) {
          const li = document.createElement("li");
          li.className = "muted";
          li.textContent = `… and ${(count - shown.length).toLocaleString()} more`;
          ul.append(li);
        }
        details.append(ul);
      }
      list.append(details);
    };
    section("added", "new", plan.added || [], (p) => p);
    section("changed", "changed (replace the room's copy)", plan.changed || [], (p) => p);
    section("unchanged", "unchanged", plan.unchanged || [], (p) => p);
    section("skipped", "skipped", plan.skipped || [], (s) => `${s.path} — ${s.reason}${s.files > 1 ? ` (${s.files} files)` : ""}`);
    const nothing = (counts.added || 0) + (counts.changed || 0) === 0;
    this.q("plan-note").textContent = nothing
      ? "Nothing would change: every file is already in the room as uploaded."
      : counts.changed
        ? "Confirm replaces the changed files for everyone in the room; files the upload does not mention stay."
        : "Confirm adds these files for everyone in the room; files already there stay.";
    this.q("confirm").disabled = false;
    this.q("confirm").focus();
  }

  async confirm() {
    if (!this.upload) return;
    const button = this.q("confirm");
    button.disabled = true;
    try {
      const applied = await this.api.confirm(this.upload.id);
      this.show("done");
      const c = applied.plan.counts;
      this.q("done-text").textContent = `Added ${c.added}, changed ${c.changed}, unchanged ${c.unchanged}, skipped ${c.skipped}.`;
      this.upload = null;
      this.onApplied(applied);
    } catch (error) {
      this.fail(error instanceof ApiError ? error.message : String(error));
    }
  }

  async cancel() {
    if (this.sending) {
      this.sending.abort();
      this.sending = null;
      return;
    }
    const upload = this.upload;
    this.upload = null;
    clearTimeout(this.pollTimer);
    this.close();
    if (upload) {
      try {
        await this.api.cancel(upload.id);
      } catch {
        // Already gone or applied elsewhere: nothing more to undo here; it expires anyway.
      }
    }
  }
}
