"""An upload's plan: what confirming it would add, change, leave unchanged and skip."""

from __future__ import annotations

from typing import Any

from editor.core.errors import Invalid
from editor.projects.ingest import StageResult
from editor.projects.models import ProjectFolder, Upload, UploadEntry
from editor.projects.paths import parents, path_key, shown
from editor.projects.selectors import file_hashes_current

PLAN_LISTED_MAX = 1000


def upload_plan(*, upload: Upload, result: StageResult | None = None) -> dict[str, Any]:
    """Compare the staged entries with the project; Invalid if a file would meet a folder.

    Open files are compared by their live text, not the row's possibly older copy.
    Without `result` (at confirm time), what staging skipped is taken from the upload's
    earlier plan.
    """
    existing = file_hashes_current(room_id=upload.room_id)
    folder_keys = {path_key(p) for path, _ in existing.values() for p in parents(path)}
    folder_keys |= set(
        ProjectFolder.objects.filter(room_id=upload.room_id).values_list("path_key", flat=True)
    )
    lists: dict[str, list[str]] = {"added": [], "changed": [], "unchanged": []}
    counts = {"added": 0, "changed": 0, "unchanged": 0}
    total_bytes = 0
    entries = UploadEntry.objects.filter(upload=upload).values_list(
        "path", "path_key", "sha256", "size"
    )
    for path, key, sha, size in entries.order_by("path").iterator(chunk_size=2000):
        total_bytes += size
        if key in folder_keys:
            raise Invalid(
                f"{shown(path)} is a folder in the project but a file in the upload: rename "
                "or delete the folder first.",
                code="path_clash",
            )
        for parent in parents(path):
            if path_key(parent) in existing:
                raise Invalid(
                    f"{shown(parent)} is a file in the project but a folder in the upload "
                    f"(which holds {shown(path)}): rename or delete the file first.",
                    code="path_clash",
                )
        current = existing.get(key)
        if current is None:
            bucket = "added"
        elif current[1] == sha and current[0] == path:
            bucket = "unchanged"
        else:
            bucket = "changed"
        counts[bucket] += 1
        if len(lists[bucket]) < PLAN_LISTED_MAX:
            lists[bucket].append(path)
    plan: dict[str, Any] = {"counts": counts, **lists, "bytes": total_bytes}
    if result is not None:
        counts["skipped"] = result.skipped_total
        plan["skipped"] = result.skipped
        plan["empty_folders"] = result.empty_folders
    else:
        counts["skipped"] = upload.plan.get("counts", {}).get("skipped", 0)
        plan["skipped"] = upload.plan.get("skipped", [])
        plan["empty_folders"] = upload.plan.get("empty_folders", [])
    plan["listed_max"] = PLAN_LISTED_MAX
    return plan
