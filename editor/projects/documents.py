"""Project files as collab's document source (editor/collab/documents.py:DocumentSource).

Registered by ProjectsConfig.ready: collab loads a document's room, path and first text
from its ProjectFile, and copies the live text back into the row for listings.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from django.utils import timezone

from editor.collab.documents import DocumentInfo
from editor.projects.models import ProjectFile
from editor.rooms.events import room_event_send


class ProjectFileSource:
    def load(self, *, doc_id: UUID, lock: bool) -> DocumentInfo | None:
        rows = ProjectFile.objects.select_related("room")
        if lock:
            rows = rows.select_for_update(of=("self",))
        row = rows.filter(doc_id=doc_id).first()
        if row is None:
            return None
        return DocumentInfo(
            doc_id=row.doc_id,
            room=row.room,
            path=row.path,
            text=row.text or "",
            editable=bool(row.editable and row.text is not None),
        )

    def store_text(
        self, *, doc_id: UUID, text: str, updated_by_id: int | None = None, announce: bool = False
    ) -> bool:
        # Only when it differs: a compaction or unload of an unchanged document writes nothing.
        data = text.encode("utf-8", "surrogatepass")
        sha256 = hashlib.sha256(data).hexdigest()
        fields: dict = {
            "text": text,
            "size": len(data),
            "sha256": sha256,
            "updated_at": timezone.now(),
        }
        if updated_by_id is not None:
            fields["updated_by_id"] = updated_by_id
        rows = ProjectFile.objects.filter(doc_id=doc_id, editable=True).exclude(sha256=sha256)
        changed = rows.update(**fields) > 0
        if changed and announce:
            _facts_announce(doc_id)
        return changed


def _facts_announce(doc_id: UUID) -> None:
    """`file.facts` to the room: the file tree follows typing (size, who, when)."""
    row = (
        ProjectFile.objects.filter(doc_id=doc_id)
        .values("id", "room_id", "path", "size", "updated_at", "updated_by__username")
        .first()
    )
    if row is not None:
        room_event_send(row["room_id"], "file.facts", {
            "id": row["id"], "doc_id": str(doc_id), "path": row["path"], "size": row["size"],
            "updated_at": row["updated_at"].isoformat(), "updated_by": row["updated_by__username"],
        })  # fmt: skip
