// The From/To dates matter only for a custom range: show them only then.
export function installRangeToggle(root) {
  const range = root.querySelector("#id_range");
  if (!range) return;
  const sync = () => {
    const custom = range.value === "custom";
    for (const field of root.querySelectorAll(".custom-dates")) field.hidden = !custom;
  };
  range.addEventListener("change", sync);
  sync();
}
