"""The durable form of a shared document: an append-only update log plus one snapshot.

Keyed by the file's stable `doc_id` rather than a foreign key, so the store does not
depend on how files are modelled; `store.document_forget` removes a deleted file's rows.
"""

from __future__ import annotations

from django.db import models


class DocUpdate(models.Model):
    """One Yjs update (v1 encoding), appended before it is relayed to anyone."""

    id = models.BigAutoField(primary_key=True)
    doc_id = models.UUIDField(db_index=True)
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"update {self.pk} of {self.doc_id}"


class DocSnapshot(models.Model):
    """The merged state of every update compaction has folded in (and deleted)."""

    doc_id = models.UUIDField(primary_key=True)
    data = models.BinaryField()
    merged_updates = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"snapshot of {self.doc_id}"
