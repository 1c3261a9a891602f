"""Readers that turn a zip, a tar (plain or gzip) or a folder upload into a stream of members.

Each reader yields `Member`s in archive order; a member's `open()` is valid only while the
iteration is on it (tar is read as a stream, never seeked). Names arrive undecoded-as-is:
`raw_name` may hold surrogate escapes for bytes that were not UTF-8, which the path checks
refuse. Header sizes are reported but never trusted: ingest counts the bytes it reads.
"""

from __future__ import annotations

import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from editor.core.errors import Invalid
from editor.projects.paths import shown


@dataclass
class Member:
    raw_name: str
    type: str  # file, dir, symlink, hardlink, device, fifo, other
    size_hint: int  # what the header claims; only ever used to refuse early
    compressed: int | None  # zip: compressed bytes of this member
    open: Callable[[], BinaryIO]
    name_error: str | None = None


def _no_open() -> BinaryIO:
    raise RuntimeError("only regular files can be opened")


# --- what a file really is ------------------------------------------------------------------


def sniff(head: bytes) -> str:
    """A short description of what these first bytes look like, for error messages."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"Rar!"):
        return "rar"
    if head.startswith(b"%PDF"):
        return "pdf"
    if not head:
        return "empty"
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "binary data"


ARCHIVE_SUFFIXES = {".zip": "zip", ".tar.gz": "tar.gz", ".tgz": "tar.gz", ".tar": "tar"}
_EXPECTED_MAGIC = {"zip": "zip", "tar.gz": "gzip", "tar": "tar"}
_DESCRIBED = {
    "zip": "a zip archive",
    "gzip": "a gzip file",
    "tar": "a tar archive",
    "text": "a text file",
    "empty": "an empty file",
}


def archive_kind(filename: str) -> str | None:
    lower = filename.lower()
    for suffix, kind in ARCHIVE_SUFFIXES.items():
        if lower.endswith(suffix):
            return kind
    return None


def check_magic(fh: BinaryIO, *, kind: str, name: str) -> None:
    """Refuse an archive whose first bytes say it is something other than its extension."""
    fh.seek(0)
    head = fh.read(512)
    fh.seek(0)
    found = sniff(head)
    if found != _EXPECTED_MAGIC[kind]:
        what = _DESCRIBED.get(found, f"{found}")
        raise Invalid(
            f"{shown(name)} is not a {kind} archive: its content looks like {what}.",
            code="wrong_type",
        )


# --- zip --------------------------------------------------------------------------------------


# The zip's own directory is parsed by zipfile all at once (a ZipInfo per entry): count
# its entries first, from the end record and then header by header, so that an archive
# with too many entries is refused (or handed to a worker) before that work.
_EOCD = struct.Struct("<4s4H2LH")  # signature, disks, entries, directory size and offset
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL_HEADER = 46  # fixed part of a central directory header
_TAIL = _EOCD.size + 0xFFFF  # the end record plus the longest comment


def _zip_end_record(fh: BinaryIO) -> tuple[int, int, int] | None:
    """(entries claimed, directory offset, directory size), or None if unreadable."""
    size = fh.seek(0, 2)
    start = max(size - _TAIL, 0)
    fh.seek(start)
    tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    _, _, _, _, entries, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    eocd = start + at
    concat = eocd - cd_size - cd_offset  # bytes prepended to the archive (as zipfile allows)
    locator = at - _EOCD64_LOCATOR.size
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        record = locator - _EOCD64.size
        if record >= 0 and tail[record : record + 4] == b"PK\x06\x06":
            fields = _EOCD64.unpack_from(tail, record)
            entries, cd_size, cd_offset = fields[7], fields[8], fields[9]
            concat = start + record - cd_size - cd_offset
    return entries, cd_offset + concat, cd_size


def zip_entry_count(fh: BinaryIO, *, limit: int) -> tuple[int, int] | None:
    """(entries the end record claims, entries counted in the directory, at most limit + 1).

    None when the end record cannot be read: zipfile then explains what is wrong. The
    count walks the fixed part of each header without building anything, because the
    claimed number may lie (zipfile trusts the directory's size, not the number).
    """
    found = _zip_end_record(fh)
    if found is None:
        return None
    claimed, start, cd_size = found
    counted = 0
    if claimed <= limit and start >= 0:
        fh.seek(start)
        window = _Window(fh, cd_size)
        while counted <= limit:
            header = window.take(_CENTRAL_HEADER)
            if header is None or header[:4] != b"PK\x01\x02":
                break
            name, extra, comment = struct.unpack_from("<3H", header, 28)
            if window.take(name + extra + comment) is None:
                break
            counted += 1
    fh.seek(0)
    return claimed, counted


class _Window:
    """Reads a region of a file in large blocks and hands it out in small pieces."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh = fh
        self.left = size
        self.buf = b""
        self.pos = 0

    def take(self, n: int) -> bytes | None:
        while len(self.buf) - self.pos < n:
            if self.left <= 0:
                return None
            chunk = self.fh.read(min(self.left, 1024 * 1024))
            if not chunk:
                return None
            self.left -= len(chunk)
            self.buf = self.buf[self.pos :] + chunk
            self.pos = 0
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def _zip_type(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # made on Unix: the mode bits are meaningful
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            return "symlink"
        if kind in (stat.S_IFCHR, stat.S_IFBLK):
            return "device"
        if kind == stat.S_IFIFO:
            return "fifo"
        if kind == stat.S_IFSOCK:
            return "other"
        if kind == stat.S_IFDIR:
            return "dir"
    return "dir" if info.is_dir() else "file"


def _zip_name(info: zipfile.ZipInfo) -> tuple[str, str | None]:
    if info.flag_bits & 0x800:
        return info.filename, None
    # Without the UTF-8 flag zipfile decoded the name as cp437; most tools really wrote
    # UTF-8 (or plain ASCII), so take those bytes back and insist they are UTF-8.
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        name = raw.decode("utf-8", "surrogateescape")
        return name, f"{shown(name)}: the name is not valid UTF-8."


class ZipReader:
    def __init__(self, fh: BinaryIO, *, name: str) -> None:
        self.name = name
        check_magic(fh, kind="zip", name=name)
        try:
            self.zf = zipfile.ZipFile(fh)
        except UnicodeDecodeError as exc:
            bad = bytes(exc.object).decode("utf-8", "backslashreplace")
            raise Invalid(f"{bad}: the name is not valid UTF-8.", code="bad_name") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise Invalid(
                f"{shown(name)} is truncated or corrupt and cannot be read ({exc}).",
                code="corrupt",
            ) from None
        self.compressed_size = fh.seek(0, 2)
        fh.seek(0)

    def members(self) -> Iterator[Member]:
        for info in self.zf.infolist():
            name, error = _zip_name(info)
            if info.flag_bits & 0x1:
                error = f"{shown(name)} is encrypted; encrypted archives are not supported."
            yield Member(
                raw_name=name,
                type=_zip_type(info),
                size_hint=info.file_size,
                compressed=info.compress_size,
                open=lambda info=info: self.zf.open(info),
                name_error=error,
            )

    def close(self) -> None:
        self.zf.close()


# --- tar --------------------------------------------------------------------------------------


class _Counting:
    """Wraps the raw archive so that ratios can use the compressed bytes consumed so far."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.consumed += len(data)
        return data


def _tar_type(ti: tarfile.TarInfo) -> str:
    if ti.isreg() and not ti.issparse():
        return "file"
    if ti.isdir():
        return "dir"
    if ti.issym():
        return "symlink"
    if ti.islnk():
        return "hardlink"
    if ti.ischr() or ti.isblk():
        return "device"
    if ti.isfifo():
        return "fifo"
    return "other"


TAR_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError, ValueError)


class TarReader:
    """A streaming reader: every pass re-reads the file from the start, in order."""

    def __init__(self, fh: BinaryIO, *, name: str, gzip: bool) -> None:
        self.fh = fh
        self.name = name
        self.gzip = gzip
        check_magic(fh, kind="tar.gz" if gzip else "tar", name=name)
        self.compressed_size = fh.seek(0, 2)
        fh.seek(0)
        self.counter: _Counting | None = None

    def corrupt(self, exc: BaseException) -> Invalid:
        return Invalid(
            f"{shown(self.name)} is truncated or corrupt and cannot be read ({exc}).",
            code="corrupt",
        )

    def members(self) -> Iterator[Member]:
        self.fh.seek(0)
        self.counter = _Counting(self.fh)
        mode = "r|gz" if self.gzip else "r|"
        try:
            tf = tarfile.open(  # noqa: SIM115 - closed by the `with tf` below
                fileobj=self.counter, mode=mode, encoding="utf-8", errors="surrogateescape"
            )
        except TAR_ERRORS as exc:
            raise self.corrupt(exc) from None
        with tf:
            while True:
                try:
                    ti = tf.next()
                except TAR_ERRORS as exc:
                    raise self.corrupt(exc) from None
                if ti is None:
                    break
                yield Member(
                    raw_name=ti.name,
                    type=_tar_type(ti),
                    size_hint=ti.size,
                    compressed=None,
                    open=lambda ti=ti: tf.extractfile(ti),
                )

    def consumed(self) -> int:
        return self.counter.consumed if self.counter else 0

    def close(self) -> None:
        pass


# --- a folder (or single files) -----------------------------------------------------------------


@dataclass
class FolderItem:
    path: str
    size: int
    open: Callable[[], BinaryIO]


class FolderReader:
    """Files the browser sent one by one, each with the relative path the user chose."""

    def __init__(self, items: list[FolderItem], *, name: str) -> None:
        self.items = items
        self.name = name
        self.compressed_size = sum(item.size for item in items)

    def members(self) -> Iterator[Member]:
        for item in self.items:
            yield Member(
                raw_name=item.path,
                type="file",
                size_hint=item.size,
                compressed=None,
                open=item.open,
            )

    def close(self) -> None:
        pass


Reader = ZipReader | TarReader | FolderReader
