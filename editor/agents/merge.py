"""Three-way merge of text: base = the task's snapshot, ours = the live file, theirs = the
agent's proposal. Built on `merge3` (Breezy's, the same algorithm as `diff3`), line-wise.

A conflict is a region both sides changed differently; it is reported with the live
file's line numbers so the UI can point at it, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import merge3


@dataclass
class Merged:
    text: str | None  # None when there are conflicts
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def merge_three(*, base: str, ours: str, theirs: str) -> Merged:
    if ours in (base, theirs):
        return Merged(theirs)
    if theirs == base:
        return Merged(ours)
    b, o, t = (s.splitlines(keepends=True) for s in (base, ours, theirs))
    out: list[str] = []
    conflicts: list[dict[str, Any]] = []
    for region in merge3.Merge3(b, o, t).merge_regions():
        kind = region[0]
        if kind == "unchanged":
            out += b[region[1] : region[2]]
        elif kind in ("a", "same"):
            out += o[region[1] : region[2]]
        elif kind == "b":
            out += t[region[1] : region[2]]
        else:
            _, z1, z2, a1, a2, b1, b2 = region
            conflicts.append(
                {
                    "live_start": a1 + 1,
                    "live_end": a2,
                    "base_start": z1 + 1,
                    "base_end": z2,
                    "base": "".join(b[z1:z2]),
                    "live": "".join(o[a1:a2]),
                    "proposed": "".join(t[b1:b2]),
                }
            )
    if conflicts:
        return Merged(None, conflicts)
    return Merged("".join(out))
