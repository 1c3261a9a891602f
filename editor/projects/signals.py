"""A room's files go with it: their shared documents are forgotten too.

Rooms do not know about files; when a room is deleted (on its own, or with its team),
this receiver drops the stored history of its files' documents and, after commit, closes
their sockets everywhere (collab.services.documents_forget). pre_delete runs inside the
deleting transaction while the room's files still exist.
"""

from __future__ import annotations

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from editor.collab.services import documents_forget
from editor.projects.models import ProjectFile
from editor.rooms.models import Room


@receiver(pre_delete, sender=Room)
def _room_deleting(sender, instance: Room, **kwargs) -> None:
    doc_ids = ProjectFile.objects.filter(room=instance).values_list("doc_id", flat=True)
    documents_forget(doc_ids=doc_ids)
