"""Export a project as a .zip, built in a spooled temp file (RAM up to a bound, then disk).

Built whole before sending so that a failure becomes an error response rather than a
truncated download; it is streamed back in chunks either way. Content comes through
`selectors.file_chunks`, which reads editable text through `file_text_current`.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import AsyncIterator, Iterator
from typing import IO

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser

from editor.projects.models import ProjectFolder
from editor.projects.selectors import file_chunks, files_for_room, files_with_text
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require

SPOOL_MAX = 8 * 1024 * 1024
READ_CHUNK = 256 * 1024


def export_filename(room: Room) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in room.name).strip("-")
    return f"{safe or 'project'}.zip"


def project_export(*, room: Room, actor: AbstractBaseUser) -> IO[bytes]:
    """A rewound file holding the project as a zip; the caller closes it."""
    require(actor, Action.ROOM_VIEW, room)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)  # noqa: SIM115
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for f in files_with_text(files_for_room(room=room)):
            info = zipfile.ZipInfo(f.path, date_time=f.updated_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=f.size > 2**31) as dest:
                for chunk in file_chunks(f):
                    dest.write(chunk)
        for path in ProjectFolder.objects.filter(room=room).values_list("path", flat=True):
            zf.mkdir(path)
    out.seek(0)
    return out


def iter_file(fh: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := fh.read(READ_CHUNK):
            yield chunk
    finally:
        fh.close()


async def aiter_file(fh: IO[bytes]) -> AsyncIterator[bytes]:
    """For daphne: Django would read a sync iterator whole into memory under ASGI."""
    read = sync_to_async(fh.read, thread_sensitive=False)
    try:
        while chunk := await read(READ_CHUNK):
            yield chunk
    finally:
        fh.close()
