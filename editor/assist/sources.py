"""The room's files as text, for Q&A retrieval: `project_texts(room_id) -> {path: text}`.

Read through the projects app's selectors (which serve the live text once the
collaborative editor lands). The projects app is built alongside this one; until its
tables exist, a room simply has no files to retrieve from.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError

log = logging.getLogger(__name__)

# Retrieval reads every file per question; beyond this much text the rest is skipped.
MAX_TOTAL_CHARS = 4_000_000


def project_texts(room_id: int) -> dict[str, str]:
    try:
        from editor.projects.selectors import file_text_current, files_for_room
        from editor.rooms.models import Room
    except ImportError:
        return {}
    texts: dict[str, str] = {}
    total = 0
    try:
        room = Room.objects.get(pk=room_id)
        for file in files_for_room(room=room).defer(None).iterator():
            text = file_text_current(file)
            if not text:
                continue
            total += len(text)
            if total > MAX_TOTAL_CHARS:
                break
            texts[file.path] = text
    except (DatabaseError, Room.DoesNotExist):
        log.warning("project files unavailable for room %s", room_id, exc_info=True)
        return {}
    return texts
