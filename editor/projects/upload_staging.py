"""An upload's staging folder on disk, and the readers that read an upload's files.

An upload staged inside the request reads the request's files directly; one handed to a
worker is first copied into its staging folder (never at a user's path) with a manifest,
and the worker reads it back from there. The folder is removed once the upload is staged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files import File

from editor.projects.archives import (
    FolderItem,
    FolderReader,
    Reader,
    TarReader,
    ZipReader,
    check_magic,
    zip_entry_count,
)
from editor.projects.ingest import Limits, MoveToWorker, too_many_entries


def staging_dir(upload_id: Any) -> Path:
    return Path(settings.FLINT_UPLOAD_STAGING_DIR) / str(upload_id)


class _Reopenable:
    """An uploaded file handed to a reader: 'closing' it only rewinds, the request owns it."""

    def __init__(self, fh: File) -> None:
        self.fh = fh
        fh.seek(0)

    def read(self, size: int = -1) -> bytes:
        return self.fh.read(size)

    def __enter__(self) -> _Reopenable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.seek(0)


def archive_reader(fh: BinaryIO, *, kind: str, name: str, limits: Limits) -> Reader:
    """A reader of one archive; MoveToWorker if a zip's end record shows too much for inline."""
    if kind == "zip":
        check_magic(fh, kind="zip", name=name)
        inline = limits.inline_entries
        bound = min(limits.member_cap, inline) if inline is not None else limits.member_cap
        counts = zip_entry_count(fh, limit=bound)
        if counts is not None:
            claimed, counted = counts
            if claimed > limits.member_cap:
                raise too_many_entries(limits)
            if inline is not None and max(claimed, counted) > inline:
                raise MoveToWorker()
            if counted > limits.member_cap:
                raise too_many_entries(limits)
        return ZipReader(fh, name=name)
    return TarReader(fh, name=name, gzip=kind == "tar.gz")


def folder_reader(files: list[File], names: list[str], *, name: str) -> FolderReader:
    """A reader of a folder upload still in the request (`names`: each file's relative path)."""
    items = [
        FolderItem(path=n, size=f.size, open=lambda f=f: _Reopenable(f))
        for f, n in zip(files, names, strict=True)
    ]
    return FolderReader(items, name=name)


def source_persist(folder: Path, files: list[File], names: list[str], kind: str | None) -> None:
    """Copy what the request received where a worker can read it (never at a user's path)."""
    if kind:
        with open(folder / "source", "wb") as out:
            for chunk in files[0].chunks():
                out.write(chunk)
        manifest: dict[str, Any] = {"kind": kind, "name": names[0]}
    else:
        (folder / "files").mkdir()
        for index, f in enumerate(files):
            with open(folder / "files" / f"{index:06d}", "wb") as out:
                for chunk in f.chunks():
                    out.write(chunk)
        manifest = {"kind": None, "names": names}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def staged_reader(folder: Path, *, source_name: str) -> Reader:
    """A reader of what `source_persist` saved in `folder` (the worker's side)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest["kind"]:
        return archive_reader(
            open(folder / "source", "rb"),
            kind=manifest["kind"],
            name=manifest["name"],
            limits=Limits.from_settings(),
        )
    items = []
    for index, name in enumerate(manifest["names"]):
        file_path = folder / "files" / f"{index:06d}"
        size = file_path.stat().st_size
        items.append(FolderItem(path=name, size=size, open=lambda p=file_path: p.open("rb")))
    return FolderReader(items, name=source_name)
