// Colours that reach a style (an avatar, a cursor) come from other people's pages: the
// server sets them from profiles (editor/collab/awareness.py), and this page checks again
// so that nothing but `#rrggbb` is ever written into a style attribute or property.

export const FALLBACK_COLOR = "#64748b";
const HEX = /^#[0-9a-fA-F]{6}$/;

/** `color` if it is exactly `#rrggbb`, else the neutral fallback. */
export function safeColor(color) {
  return typeof color === "string" && HEX.test(color) ? color : FALLBACK_COLOR;
}

/**
 * Make every awareness state's `user.color` / `user.colorLight` safe, in place.
 * Registered before y-codemirror.next's own listener, which writes them into style
 * attributes of remote cursors.
 */
export function guardAwarenessColors(awareness) {
  const clean = () => {
    for (const state of awareness.getStates().values()) {
      const user = state && state.user;
      if (!user || typeof user !== "object") continue;
      const color = safeColor(user.color);
      user.color = color;
      user.colorLight = `${color}33`;
    }
  };
  awareness.on("change", clean);
  awareness.on("update", clean);
  clean();
}
