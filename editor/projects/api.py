"""The project API: uploads, the file tree, file content, moves, deletes and export.

Mounted at the API root (`api.add_router("", router)`), so every path starts with
/rooms/{room_id}/…; outsiders get the same 403 as on the rooms router (room_for).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from editor.core.api import errors
from editor.core.errors import Invalid
from editor.projects.models import ProjectFile
from editor.projects.responses import export_response, raw_file_response
from editor.projects.selectors import file_get, file_text_current, project_tree
from editor.projects.services import (
    file_create,
    file_write,
    folder_create,
    path_delete,
    path_move,
)
from editor.projects.uploads import upload_cancel, upload_confirm, upload_get, upload_start
from editor.rooms.selectors import room_for

router = Router(tags=["files"])


class FileOut(Schema):
    id: int
    path: str
    doc_id: UUID
    kind: str
    editable: bool
    size: int
    sha256: str
    language: str
    updated_at: datetime
    updated_by: str | None


class FileContentOut(FileOut):
    text: str | None  # null for binary and oversize files: download them from raw_url
    raw_url: str


class TreeOut(Schema):
    files: list[FileOut]
    folders: list[str]
    limits: dict[str, int]


class UploadOut(Schema):
    id: UUID
    status: str
    source_name: str
    source_kind: str
    source_size: int
    background: bool
    progress_done: int
    progress_total: int
    error: str
    plan: dict
    expires_at: datetime


class CreateIn(Schema):
    path: str
    kind: Literal["file", "folder"] = "file"
    text: str = ""


class CreatedOut(Schema):
    path: str
    file: FileOut | None = None


class WriteIn(Schema):
    text: str
    expected_sha256: str | None = None


class MoveIn(Schema):
    from_path: str
    to_path: str


class PathOut(Schema):
    path: str


class DeletedOut(Schema):
    path: str
    files_deleted: int


def _file_out(f: ProjectFile) -> dict:
    return {
        "id": f.pk,
        "path": f.path,
        "doc_id": f.doc_id,
        "kind": f.kind,
        "editable": f.editable,
        "size": f.size,
        "sha256": f.sha256,
        "language": f.language,
        "updated_at": f.updated_at,
        "updated_by": f.updated_by.get_username() if f.updated_by_id else None,
    }


@router.post(
    "/rooms/{room_id}/files/uploads", response={201: UploadOut, 202: UploadOut, **errors(403, 404)}
)
def files_upload(
    request: HttpRequest,
    room_id: int,
    files: File[list[UploadedFile]],
    paths: Form[str | None] = None,
    skip_ignored: Form[bool] = True,
    extract: Form[bool] = True,
):
    """Upload a .zip/.tar.gz/.tgz/.tar, a folder or single files; answers the plan to confirm.

    For a folder, send every file in `files` and, in `paths`, a JSON array of their
    relative paths in the same order. 201: staged, `plan` ready to confirm. 202: large
    upload staged by a worker; poll the upload (or listen for "upload.progress").
    """
    room = room_for(request.auth, room_id)
    path_list = None
    if paths:
        try:
            path_list = json.loads(paths)
        except ValueError:
            raise Invalid("`paths` must be a JSON array of relative paths.") from None
        if not isinstance(path_list, list) or not all(isinstance(p, str) for p in path_list):
            raise Invalid("`paths` must be a JSON array of relative paths.")
    upload = upload_start(
        room=room,
        actor=request.auth,
        files=list(files),
        paths=path_list,
        skip_ignored=skip_ignored,
        extract=extract,
    )
    return Status(202 if upload.background else 201, upload)


@router.get(
    "/rooms/{room_id}/files/uploads/{upload_id}", response={200: UploadOut, **errors(403, 404)}
)
def files_upload_status(request: HttpRequest, room_id: int, upload_id: UUID):
    """A staged upload: its status, progress, error or plan."""
    return upload_get(room=room_for(request.auth, room_id), actor=request.auth, upload_id=upload_id)


@router.post(
    "/rooms/{room_id}/files/uploads/{upload_id}/confirm",
    response={200: UploadOut, **errors(403, 404, 409, 410)},
)
def files_upload_confirm(request: HttpRequest, room_id: int, upload_id: UUID):
    """Apply a staged upload to the project, all at once."""
    room = room_for(request.auth, room_id)
    upload_confirm(room=room, actor=request.auth, upload_id=upload_id)
    return upload_get(room=room, actor=request.auth, upload_id=upload_id)


@router.post(
    "/rooms/{room_id}/files/uploads/{upload_id}/cancel",
    response={200: UploadOut, **errors(403, 404, 409)},
)
def files_upload_cancel(request: HttpRequest, room_id: int, upload_id: UUID):
    """Discard a staged upload (or stop a background one)."""
    room = room_for(request.auth, room_id)
    return upload_cancel(room=room, actor=request.auth, upload_id=upload_id)


@router.get("/rooms/{room_id}/files", response={200: TreeOut, **errors(403, 404)})
def files_list(request: HttpRequest, room_id: int):
    """Every file (metadata, ids and doc_ids) and folder of the room's project, with limits."""
    tree = project_tree(room=room_for(request.auth, room_id), actor=request.auth)
    return {**tree, "files": [_file_out(f) for f in tree["files"]]}


@router.get("/rooms/{room_id}/files/export", response={200: None, **errors(403, 404)})
def files_export(request: HttpRequest, room_id: int):
    """The whole project as a .zip download."""
    return export_response(request, room=room_for(request.auth, room_id), actor=request.auth)


@router.post("/rooms/{room_id}/files", response={201: CreatedOut, **errors(403, 404, 409)})
def files_create(request: HttpRequest, room_id: int, payload: CreateIn):
    """Create an (editable, text) file or an empty folder."""
    room = room_for(request.auth, room_id)
    if payload.kind == "folder":
        path = folder_create(room=room, actor=request.auth, path=payload.path)
        return Status(201, {"path": path, "file": None})
    created = file_create(room=room, actor=request.auth, path=payload.path, text=payload.text)
    return Status(201, {"path": created.path, "file": _file_out(created)})


@router.post("/rooms/{room_id}/files/move", response={200: PathOut, **errors(403, 404, 409)})
def files_move(request: HttpRequest, room_id: int, payload: MoveIn):
    """Rename or move a file or a whole folder; ids and doc_ids stay the same."""
    room = room_for(request.auth, room_id)
    dst = path_move(room=room, actor=request.auth, src=payload.from_path, dst=payload.to_path)
    return {"path": dst}


@router.delete("/rooms/{room_id}/files", response={200: DeletedOut, **errors(403, 404)})
def files_delete(request: HttpRequest, room_id: int, path: str):
    """Delete a file, or a folder and everything in it (`?path=`)."""
    room = room_for(request.auth, room_id)
    count = path_delete(room=room, actor=request.auth, path=path)
    return {"path": path, "files_deleted": count}


@router.get(
    "/rooms/{room_id}/files/{int:file_id}", response={200: FileContentOut, **errors(403, 404)}
)
def files_read(request: HttpRequest, room_id: int, file_id: int):
    """A file's metadata and, for editable files, its text."""
    room = room_for(request.auth, room_id)
    found = file_get(room=room, actor=request.auth, file_id=file_id)
    return {
        **_file_out(found),
        "text": file_text_current(found),
        "raw_url": f"{request.path.rstrip('/')}/raw",
    }


@router.get("/rooms/{room_id}/files/{int:file_id}/raw", response={200: None, **errors(403, 404)})
def files_raw(request: HttpRequest, room_id: int, file_id: int):
    """A file's bytes, as a download."""
    room = room_for(request.auth, room_id)
    return raw_file_response(request, file_get(room=room, actor=request.auth, file_id=file_id))


@router.put(
    "/rooms/{room_id}/files/{int:file_id}", response={200: FileOut, **errors(403, 404, 409)}
)
def files_write(request: HttpRequest, room_id: int, file_id: int, payload: WriteIn):
    """Replace an editable file's text; send `expected_sha256` to refuse a lost update (409)."""
    room = room_for(request.auth, room_id)
    written = file_write(
        room=room,
        actor=request.auth,
        file_id=file_id,
        text=payload.text,
        expected_sha256=payload.expected_sha256,
    )
    return _file_out(written)
