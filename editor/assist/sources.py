"""The room's files as text, for Q&A retrieval: `project_texts(room_id) -> {path: text}`.

Read through the projects app's selectors, which serve the live text of the shared
documents (what people see in the editor), in bounded batches.
"""

from __future__ import annotations

from editor.projects.selectors import file_text_current, files_for_room, files_with_text
from editor.rooms.models import Room

# Retrieval reads every file per question; beyond this much text the rest is skipped.
MAX_TOTAL_CHARS = 4_000_000


def project_texts(room_id: int) -> dict[str, str]:
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        return {}
    texts: dict[str, str] = {}
    total = 0
    for file in files_with_text(files_for_room(room=room)):
        text = file_text_current(file)
        if not text:
            continue
        total += len(text)
        if total > MAX_TOTAL_CHARS:
            break
        texts[file.path] = text
    return texts
