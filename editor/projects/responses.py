"""Download responses shared by the API and the browser views."""

from __future__ import annotations

from typing import IO

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from editor.projects.blobs import blob_name, blob_storage
from editor.projects.export import aiter_file, export_filename, iter_file, project_export
from editor.projects.models import ProjectFile
from editor.projects.selectors import file_text_current
from editor.rooms.models import Room


def _stream(request: HttpRequest, fh: IO[bytes]) -> StreamingHttpResponse:
    content = aiter_file(fh) if isinstance(request, ASGIRequest) else iter_file(fh)
    return StreamingHttpResponse(content)


def _as_attachment(response: HttpResponse, filename: str, content_type: str) -> HttpResponse:
    # Always an attachment: a user's HTML or SVG must never render on Flint's origin.
    response["Content-Type"] = content_type
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def raw_file_response(request: HttpRequest, file: ProjectFile) -> HttpResponse:
    name = file.path.rpartition("/")[2]
    text = file_text_current(file)
    if text is not None:
        data = text.encode("utf-8")
        response = HttpResponse(data)
        response["Content-Length"] = str(len(data))
        return _as_attachment(response, name, "text/plain; charset=utf-8")
    fh = blob_storage().open(blob_name(file.blob), "rb")
    response = _stream(request, fh)
    response["Content-Length"] = str(file.size)
    return _as_attachment(response, name, "application/octet-stream")


def export_response(request: HttpRequest, *, room: Room, actor) -> HttpResponse:
    fh = project_export(room=room, actor=actor)
    size = fh.seek(0, 2)
    fh.seek(0)
    response = _stream(request, fh)
    response["Content-Length"] = str(size)
    return _as_attachment(response, export_filename(room), "application/zip")
