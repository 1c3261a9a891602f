// Small modal questions (a name, a yes/no) on one <dialog> element, answered as promises.
// Errors from the server are shown inside the dialog so the person can correct the name.

export class Prompt {
  constructor(dialog) {
    this.dialog = dialog;
    this.form = dialog.querySelector("form");
    this.title = dialog.querySelector("[data-prompt-title]");
    this.text = dialog.querySelector("[data-prompt-text]");
    this.field = dialog.querySelector("[data-prompt-field]");
    this.label = dialog.querySelector("[data-prompt-label]");
    this.input = dialog.querySelector("[data-prompt-input]");
    this.error = dialog.querySelector("[data-prompt-error]");
    this.ok = dialog.querySelector("[data-prompt-ok]");
    this.form.addEventListener("submit", (event) => this.onSubmit(event));
    dialog.querySelector("[data-prompt-cancel]").addEventListener("click", () => this.close());
    dialog.addEventListener("close", () => this.close());
    this.pending = null;
  }

  /**
   * Ask; `run(value)` does the work and may throw an error whose message is shown, keeping
   * the dialog open. Resolves to run's result, or null when cancelled.
   */
  ask({ title, text = "", label = "", value = null, okLabel = "OK", danger = false, run }) {
    this.close();
    this.title.textContent = title;
    this.text.textContent = text;
    this.text.hidden = !text;
    this.field.hidden = value === null;
    this.label.textContent = label;
    this.input.value = value ?? "";
    this.error.hidden = true;
    this.ok.textContent = okLabel;
    this.ok.className = danger ? "btn danger" : "btn";
    this.ok.disabled = false;
    this.run = run;
    this.dialog.showModal();
    if (value !== null) {
      this.input.focus();
      // Select the name, not the folders before it nor the extension after it.
      const start = this.input.value.lastIndexOf("/") + 1;
      const dot = this.input.value.lastIndexOf(".");
      this.input.setSelectionRange(start, dot > start ? dot : this.input.value.length);
    } else {
      this.ok.focus();
    }
    return new Promise((resolve) => {
      this.pending = resolve;
    });
  }

  async onSubmit(event) {
    event.preventDefault();
    this.ok.disabled = true;
    this.error.hidden = true;
    try {
      const result = await this.run(this.input.value.trim());
      const resolve = this.pending;
      this.pending = null;
      this.dialog.close();
      if (resolve) resolve(result ?? true);
    } catch (error) {
      this.error.textContent = error.message;
      this.error.hidden = false;
      this.ok.disabled = false;
    }
  }

  close() {
    if (this.pending) {
      const resolve = this.pending;
      this.pending = null;
      resolve(null);
    }
    if (this.dialog.open) this.dialog.close();
  }
}
