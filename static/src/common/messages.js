// Django's flash messages: a confirmation ("Room Compiler is open.", "Profile saved.")
// goes away by itself; warnings and errors stay until the page changes.
const SUCCESS_SHOWN_MS = 5000;

export function dismissConfirmations(root) {
  const shown = root.querySelectorAll(".messages .message.success");
  if (!shown.length) return;
  setTimeout(() => {
    for (const message of shown) {
      const list = message.parentElement;
      message.remove();
      if (list && !list.children.length) list.remove();
    }
  }, SUCCESS_SHOWN_MS);
}
