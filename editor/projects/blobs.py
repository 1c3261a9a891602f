"""Content-addressed storage for binary and oversize files, under FLINT_DATA_DIR.

A blob's name is its sha256, so writing one twice is harmless and an interrupted upload
leaves nothing wrong behind, only an orphan that `blobs_collect` removes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage

CHUNK = 256 * 1024


def blob_storage() -> Storage:
    return FileSystemStorage(location=str(settings.FLINT_BLOB_DIR))


def blob_name(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class _TempFile(File):
    """A finished temporary file: FileSystemStorage moves it into place instead of copying."""

    def temporary_file_path(self) -> str:
        return self.name


def blob_exists(sha256: str) -> bool:
    return blob_storage().exists(blob_name(sha256))


def blob_put_file(sha256: str, temp_path: str) -> bool:
    """Move a finished temp file into storage; True when this call created the blob."""
    storage = blob_storage()
    name = blob_name(sha256)
    if storage.exists(name):
        os.unlink(temp_path)
        return False
    with open(temp_path, "rb") as fh:
        saved = storage.save(name, _TempFile(fh, name=temp_path))
    if saved != name:  # another upload stored the same content a moment ago
        storage.delete(saved)
        return False
    return True


def blob_put_bytes(sha256: str, data: bytes) -> bool:
    storage = blob_storage()
    name = blob_name(sha256)
    if storage.exists(name):
        return False
    from django.core.files.base import ContentFile

    saved = storage.save(name, ContentFile(data))
    if saved != name:
        storage.delete(saved)
        return False
    return True


def blob_chunks(sha256: str) -> Iterator[bytes]:
    with blob_storage().open(blob_name(sha256), "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def blobs_collect(keys: Iterable[str]) -> int:
    """Delete the given blobs that no project file or staged upload still refers to."""
    from editor.projects.models import ProjectFile, UploadEntry

    keys = {k for k in keys if k}
    if not keys:
        return 0
    used: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):  # stay under the database's parameter limit
        batch = ordered[start : start + 500]
        used |= set(ProjectFile.objects.filter(blob__in=batch).values_list("blob", flat=True))
        used |= set(UploadEntry.objects.filter(blob__in=batch).values_list("blob", flat=True))
    storage = blob_storage()
    removed = 0
    for key in keys - used:
        if storage.exists(blob_name(key)):
            storage.delete(blob_name(key))
            removed += 1
    return removed
