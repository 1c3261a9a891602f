// Line diffs for quick edits: which lines of the selection a replacement removes and adds,
// grouped into hunks that can be accepted or rejected one by one.
//
// Text is split on "\n" (a trailing newline gives a last, empty line), so joining the
// lines back with "\n" gives the text exactly, and so does applying every hunk.

const MAX_CELLS = 4_000_000; // beyond this the LCS table is too big: one hunk for everything

export function splitLines(text) {
  return text.split("\n");
}

/** Hunks turning `before` into `after`: [{oldStart, oldEnd, newStart, newEnd, oldLines, newLines}]. */
export function diffLines(before, after) {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const pairs = []; // matched [i, j] in the middle part, in order
  if (midA.length && midB.length && midA.length * midB.length <= MAX_CELLS) {
    const n = midA.length;
    const m = midB.length;
    const table = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i -= 1) {
      for (let j = m - 1; j >= 0; j -= 1) {
        table[i * (m + 1) + j] =
          midA[i] === midB[j] ? table[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(table[(i + 1) * (m + 1) + j], table[i * (m + 1) + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (midA[i] === midB[j]) {
        pairs.push([i, j]);
        i += 1;
        j += 1;
      } else if (table[(i + 1) * (m + 1) + j] >= table[i * (m + 1) + j + 1]) i += 1;
      else j += 1;
    }
  }
  pairs.push([midA.length, midB.length]); // sentinel: closes the last hunk
  const hunks = [];
  let i = 0;
  let j = 0;
  for (const [pi, pj] of pairs) {
    if (pi > i || pj > j) {
      hunks.push({
        oldStart: start + i,
        oldEnd: start + pi,
        newStart: start + j,
        newEnd: start + pj,
        oldLines: a.slice(start + i, start + pi),
        newLines: b.slice(start + j, start + pj),
      });
    }
    i = pi + 1;
    j = pj + 1;
  }
  return hunks;
}

/** Offsets where each line of `text` starts. */
export function lineStarts(text) {
  const starts = [0];
  for (let k = text.indexOf("\n"); k !== -1; k = text.indexOf("\n", k + 1)) starts.push(k + 1);
  return starts;
}

/** The edit {from, to, insert} (offsets in `before`) that applies one hunk to `before`. */
export function hunkChange(before, hunk) {
  const starts = lineStarts(before);
  const count = starts.length;
  const { oldStart: s, oldEnd: e, newLines } = hunk;
  if (e < count) {
    // The hunk ends before the last line: whole lines, each with its newline.
    return { from: starts[s], to: starts[e], insert: newLines.map((line) => `${line}\n`).join("") };
  }
  // The hunk reaches the last line, which has no newline after it.
  if (s === count) return { from: before.length, to: before.length, insert: `\n${newLines.join("\n")}` };
  if (newLines.length === 0 && s > 0) return { from: starts[s] - 1, to: before.length, insert: "" };
  return { from: starts[s], to: before.length, insert: newLines.join("\n") };
}

/** `after` with one hunk undone (the hunk's old lines put back): rejecting that hunk. */
export function revertHunk(after, hunk) {
  const lines = splitLines(after);
  lines.splice(hunk.newStart, hunk.newEnd - hunk.newStart, ...hunk.oldLines);
  return lines.join("\n");
}

/** Applies changes of hunks (all from one diff of `before`) to `before`. */
export function applyHunks(before, hunks) {
  // Last first, so earlier offsets stay valid; at one offset the later hunk goes first too.
  const changes = hunks.map((hunk, index) => ({ ...hunkChange(before, hunk), index })).sort((x, y) => y.from - x.from || y.index - x.index);
  let text = before;
  for (const { from, to, insert } of changes) text = text.slice(0, from) + insert + text.slice(to);
  return text;
}
