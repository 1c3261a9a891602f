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

    def store_text(self, *, doc_id: UUID, text: str) -> None:
        # Only when it differs: a compaction or unload of an unchanged document writes nothing.
        data = text.encode("utf-8", "surrogatepass")
        sha256 = hashlib.sha256(data).hexdigest()
        ProjectFile.objects.filter(doc_id=doc_id, editable=True).exclude(sha256=sha256).update(
            text=text, size=len(data), sha256=sha256, updated_at=timezone.now()
        )
