"""Build archives in memory, byte by byte when a test needs a malicious one."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile


def make_zip(files: dict[str, bytes | str], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in files.items():
            if name.endswith("/"):
                zf.writestr(zipfile.ZipInfo(name), b"")
            else:
                zf.writestr(name, data.encode() if isinstance(data, str) else data)
    return buf.getvalue()


def zip_with_info(infos: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info, data in infos:
            zf.writestr(info, data)
    return buf.getvalue()


def make_tar(
    files: dict[str, bytes | str], *, gz: bool = True, extra: list[tarfile.TarInfo] | None = None
) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files.items():
            raw = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))
        for info in extra or []:
            tf.addfile(info, io.BytesIO(b"") if info.isreg() else None)
    return buf.getvalue()


def tar_member(name: str, kind: bytes, *, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def archive(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def blob_files() -> set[str]:
    root = Path(settings.FLINT_BLOB_DIR)
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def staging_leftovers() -> list[str]:
    root = Path(settings.FLINT_UPLOAD_STAGING_DIR)
    return sorted(os.listdir(root)) if root.exists() else []
