"""Turn an archive or a folder upload into staged entries, checking everything on the way.

Two passes over the reader. The first reads names and types only (plus the small
.gitignore files, whose bytes count in the budget below) and refuses bad names, links,
devices, duplicates and too many files before a single byte of content is written. The
second streams the kept files in chunks, counting the bytes really produced (headers are
never trusted) and refusing past the expanded-size and compression-ratio limits.
Editable text goes into UploadEntry rows; binary and oversize content into
content-addressed blobs. Nothing touches the project:
`services.upload_confirm` applies the entries in one transaction.

Inside a web request (`Limits.inline_*`), an upload that turns out to hold more entries or
expand to more bytes than a request should handle raises `MoveToWorker`, and the caller
hands it to a Celery worker instead: daphne's process stays free for everyone else.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from editor.core.errors import Invalid
from editor.projects.archives import TAR_ERRORS, FolderReader, Member, Reader, TarReader
from editor.projects.blobs import blob_put_bytes, blob_put_file
from editor.projects.ignore import GITIGNORE_MAX_BYTES, IgnoreRules, named_skip
from editor.projects.languages import language_for
from editor.projects.models import FileKind, Upload, UploadEntry
from editor.projects.paths import parents, path_key, path_normalize, portable_problem, shown

CHUNK = 256 * 1024
BATCH = 500
# Below these sizes any ratio is fine: a 200 KB file of spaces compresses 1000x honestly.
MEMBER_RATIO_FLOOR = 1024 * 1024
TOTAL_RATIO_FLOOR = 10 * 1024 * 1024
# Entries in an archive, skipped ones included: bounds the work of reading its directory.
MEMBER_CAP_FACTOR = 10
SKIPPED_LISTED_MAX = 500
BAD_NAMES_LISTED_MAX = 20

ProgressFn = Callable[[int, int], None]

_TYPE_REFUSALS = {
    "symlink": "{path} is a symbolic link; an upload may only hold regular files and folders.",
    "hardlink": "{path} is a hard link; an upload may only hold regular files and folders.",
    "device": "{path} is a device file; an upload may only hold regular files and folders.",
    "fifo": "{path} is a named pipe (FIFO); an upload may only hold regular files and folders.",
    "other": "{path} is not a regular file; an upload may only hold regular files and folders.",
}


def size_text(n: int) -> str:
    """A size as a message shows it: whole megabytes from 1 MB, bytes below."""
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


class MoveToWorker(Exception):
    """An inline ingest found more work than a web request should do; a worker takes it."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_expanded: int
    max_files: int
    editable_max: int
    max_ratio: int
    inline_entries: int | None = None  # set when the ingest runs inside a web request
    inline_expanded: int | None = None

    @classmethod
    def from_settings(cls, *, inline: bool = False) -> Limits:
        return cls(
            max_bytes=settings.FLINT_UPLOAD_MAX_BYTES,
            max_expanded=settings.FLINT_UPLOAD_MAX_EXPANDED_BYTES,
            max_files=settings.FLINT_UPLOAD_MAX_FILES,
            editable_max=settings.FLINT_EDITABLE_MAX_BYTES,
            max_ratio=settings.FLINT_UPLOAD_MAX_RATIO,
            inline_entries=settings.FLINT_UPLOAD_INLINE_MAX_ENTRIES if inline else None,
            inline_expanded=settings.FLINT_UPLOAD_INLINE_MAX_EXPANDED_BYTES if inline else None,
        )

    @property
    def member_cap(self) -> int:
        """Entries in an archive, skipped ones included: bounds the work of reading it."""
        return self.max_files * MEMBER_CAP_FACTOR


def too_many_entries(limits: Limits) -> Invalid:
    return Invalid(
        f"The upload has more than {limits.member_cap} entries; a project holds at most "
        f"{limits.max_files} files.",
        code="too_many_files",
    )


@dataclass
class Scan:
    """What the first pass decided: which members to keep, and what was left out and why."""

    kept: dict[int, str] = field(default_factory=dict)  # member index -> project path
    gitignore_bytes: dict[int, int] = field(default_factory=dict)  # read in pass 1
    skipped: dict[str, dict] = field(default_factory=dict)  # skipped root -> reason, files
    empty_folders: list[str] = field(default_factory=list)

    def skip(self, root: str, reason: str) -> None:
        entry = self.skipped.setdefault(root, {"path": root, "reason": reason, "files": 0})
        entry["files"] += 1


@dataclass
class StageResult:
    files: int
    bytes: int
    skipped: list[dict]
    skipped_total: int
    empty_folders: list[str]
    new_blobs: set[str]


class _Budget:
    """Counts the expanded bytes actually read and refuses bombs as soon as they show."""

    def __init__(self, reader: Reader, limits: Limits) -> None:
        self.reader = reader
        self.limits = limits
        self.total = 0

    def _compressed_so_far(self) -> int:
        if isinstance(self.reader, TarReader):
            return max(self.reader.consumed(), 1)
        return max(self.reader.compressed_size, 1)

    def add(self, n: int, path: str) -> None:
        self.total += n
        if self.limits.inline_expanded is not None and self.total > self.limits.inline_expanded:
            raise MoveToWorker()
        if self.total > self.limits.max_expanded:
            raise Invalid(
                f"The upload expands to more than {size_text(self.limits.max_expanded)} "
                f"(reached while reading {path}).",
                code="too_large",
            )
        if isinstance(self.reader, FolderReader):
            return
        ratio = self.total / self._compressed_so_far()
        if self.total > TOTAL_RATIO_FLOOR and ratio > self.limits.max_ratio:
            raise Invalid(
                f"The archive expands more than {self.limits.max_ratio}x its compressed size "
                f"(at {path}): it looks like a zip bomb.",
                code="zip_bomb",
            )


# --- pass 1: names, types, limits, skip rules ----------------------------------------------


def scan(
    reader: Reader, *, limits: Limits, skip_ignored: bool, budget: _Budget | None = None
) -> Scan:
    result = Scan()
    rules = IgnoreRules()
    budget = budget or _Budget(reader, limits)
    keys: dict[str, str] = {}
    candidates: list[tuple[int, str, int]] = []
    dirs: list[str] = []
    streamed = isinstance(reader, TarReader)
    header_total = 0
    bad_names: list[str] = []
    for index, member in enumerate(reader.members()):
        if index >= limits.member_cap:
            raise too_many_entries(limits)
        if limits.inline_entries is not None and index >= limits.inline_entries:
            raise MoveToWorker()
        if streamed:
            # A tar stream is decompressed to get past every member, skipped, badly named
            # or not, so every member counts; a header that lies only ends the stream early.
            header_total += max(member.size_hint, 0)
            _check_stream(reader, limits, header_total, member.raw_name)
        # Portability (Windows names, invisible characters) is checked below, on the paths
        # that are kept: a name nobody will see in the project refuses nothing. Names that
        # are bad anywhere are collected, so that one refusal lists them all.
        try:
            if member.name_error:
                raise Invalid(member.name_error, code="bad_name")
            path = path_normalize(member.raw_name, is_dir=member.type == "dir", portable=False)
        except Invalid as exc:
            if exc.code != "bad_name":
                raise
            bad_names.append(exc.message.removesuffix("."))
            if len(bad_names) > BAD_NAMES_LISTED_MAX:
                break  # enough to list: refuse without reading the rest
            continue
        if member.type == "dir":
            dirs.append(path)
            continue
        if member.type != "file":
            raise Invalid(
                _TYPE_REFUSALS[member.type].format(path=shown(member.raw_name)),
                code="bad_member",
            )
        key = path_key(path)
        if key in keys:
            first = keys[key]
            same = "twice" if first == path else f"twice (as {shown(first)} and {shown(path)})"
            raise Invalid(
                f"{shown(path)} appears {same}; paths must be unique ignoring case and "
                "Unicode normalization.",
                code="duplicate_path",
            )
        keys[key] = path
        if skip_ignored:
            named = named_skip(path)
            if named:
                result.skip(*named)
                continue
            base = path.rpartition("/")[2]
            if base == "pyvenv.cfg":
                rules.add_venv_marker(path)
            elif base == ".gitignore":
                content = _read_small(member, path)
                # Read before any budget of pass 2: counted here, or a thousand of them
                # would expand unchecked.
                budget.add(len(content), shown(path))
                result.gitignore_bytes[index] = len(content)
                rules.add_gitignore(path, content)
        candidates.append((index, path, member.size_hint))
    if len(bad_names) > BAD_NAMES_LISTED_MAX:
        _check_portable([], bad=bad_names)  # refuses: enough to list, the rest was not read
    if streamed:
        _check_stream(reader, limits, header_total, "the end of the archive", final=True)

    header_kept = 0
    for index, path, hint in candidates:
        if skip_ignored:
            reason = rules.skip_reason(path, use_gitignore=True)
            if reason:
                result.skip(*reason)
                continue
        result.kept[index] = path
        header_kept += max(hint, 0)
    if len(result.kept) > limits.max_files:
        raise Invalid(
            f"The upload has {len(result.kept)} files; a project holds at most {limits.max_files}.",
            code="too_many_files",
        )
    if header_kept > limits.max_expanded:  # headers may refuse early, never accept
        raise Invalid(
            f"The upload expands to {size_text(header_kept)}; at most "
            f"{size_text(limits.max_expanded)} is allowed.",
            code="too_large",
        )
    _check_file_folder_clash(result.kept.values(), dirs)
    used_folders = {path_key(p) for path in result.kept.values() for p in parents(path)}
    seen: set[str] = set()
    for folder in dirs:
        key = path_key(folder)
        if key in seen or key in used_folders:
            continue
        seen.add(key)
        if not (skip_ignored and rules.folder_skipped(folder, use_gitignore=True)):
            result.empty_folders.append(folder)
    # An explicit folder that holds only other empty folders is not empty itself.
    nested = {path_key(p) for f in result.empty_folders for p in parents(f)}
    result.empty_folders = [f for f in result.empty_folders if path_key(f) not in nested]
    _check_portable([*result.kept.values(), *result.empty_folders], bad=bad_names)
    return result


def _check_portable(paths: list[str], *, bad: list[str]) -> None:
    """Refuse the upload if a name cannot be a project name, listing every such name."""
    for path in paths:
        problem = portable_problem(path)
        if problem:
            bad.append(f"{shown(path)}: {problem}")
    if not bad:
        return
    if len(bad) == 1:
        raise Invalid(f"{bad[0]}.", code="bad_name")
    listed = "; ".join(bad[:BAD_NAMES_LISTED_MAX])
    more = len(bad) > BAD_NAMES_LISTED_MAX
    raise Invalid(
        f"{'More than ' if more else ''}{min(len(bad), BAD_NAMES_LISTED_MAX)} names in the "
        f"upload cannot be used in a project: {listed}" + ". Rename them and upload again.",
        code="bad_name",
    )


def _check_stream(
    reader: TarReader, limits: Limits, total: int, path: str, *, final: bool = False
) -> None:
    if total > limits.max_expanded:
        raise Invalid(
            f"The upload expands to more than {size_text(limits.max_expanded)} "
            f"(reached at {shown(path)}).",
            code="too_large",
        )
    # Compare with the compressed bytes consumed so far, which already include the data
    # of earlier members: the current one's data has not been read yet.
    if final or total > TOTAL_RATIO_FLOOR:
        ratio = total / max(reader.consumed(), 1)
        if total > TOTAL_RATIO_FLOOR and ratio > limits.max_ratio:
            raise Invalid(
                f"The archive expands more than {limits.max_ratio}x its compressed size "
                f"(at {shown(path)}): it looks like a zip bomb.",
                code="zip_bomb",
            )


def _read_small(member: Member, path: str) -> bytes:
    try:
        with member.open() as fh:
            data = fh.read(GITIGNORE_MAX_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, *TAR_ERRORS) as exc:
        raise Invalid(
            f"{shown(path)} is corrupt and cannot be read ({exc}).", code="corrupt"
        ) from None
    return data  # one byte too many tells IgnoreRules the file is too large


def _check_file_folder_clash(files, dirs: list[str]) -> None:
    file_keys = {path_key(p): p for p in files}
    for path in [*files, *dirs]:
        for parent in parents(path):
            if path_key(parent) in file_keys:
                raise Invalid(
                    f"{shown(parent)} is both a file and a folder in the upload "
                    f"(the folder holds {shown(path)}).",
                    code="path_clash",
                )
    for folder in dirs:
        if path_key(folder) in file_keys:
            raise Invalid(f"{shown(folder)} is both a file and a folder in the upload.")


# --- pass 2: content --------------------------------------------------------------------------


@dataclass
class _Content:
    size: int
    sha256: str
    kind: str
    editable: bool
    text: str | None
    blob: str
    new_blob: bool


def _read_content(
    fh: BinaryIO, *, path: str, member: Member, limits: Limits, budget: _Budget, tmp_dir: Path
) -> _Content:
    digest = hashlib.sha256()
    buf = bytearray()
    spill = None
    decoder = None
    utf8_ok = True
    size = 0
    try:
        while chunk := fh.read(CHUNK):
            size += len(chunk)
            budget.add(len(chunk), shown(path))
            if (
                member.compressed is not None
                and size > MEMBER_RATIO_FLOOR
                and size > limits.max_ratio * max(member.compressed, 1)
            ):
                raise Invalid(
                    f"{shown(path)} expands more than {limits.max_ratio}x its compressed "
                    "size: it looks like a zip bomb.",
                    code="zip_bomb",
                )
            digest.update(chunk)
            if spill is None and size <= limits.editable_max:
                buf += chunk
                continue
            if spill is None:  # too big to edit: stream the rest to disk, check UTF-8 as we go
                spill = tempfile.NamedTemporaryFile(dir=tmp_dir, delete=False)  # noqa: SIM115
                decoder = codecs.getincrementaldecoder("utf-8")()
                chunk = bytes(buf) + chunk
                buf = bytearray()
            spill.write(chunk)
            if utf8_ok:
                try:
                    decoder.decode(chunk)
                    utf8_ok = b"\x00" not in chunk
                except UnicodeDecodeError:
                    utf8_ok = False
    except (zipfile.BadZipFile, zlib.error, EOFError, *TAR_ERRORS) as exc:
        if spill is not None:
            spill.close()
            os.unlink(spill.name)
        raise Invalid(
            f"{shown(path)} is truncated or corrupt and cannot be read ({exc}).", code="corrupt"
        ) from None
    sha = digest.hexdigest()
    if spill is None:
        data = bytes(buf)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            return _Content(size, sha, FileKind.TEXT, True, text, "", False)
        return _Content(size, sha, FileKind.BINARY, False, None, sha, blob_put_bytes(sha, data))
    spill.close()
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    kind = FileKind.TEXT if utf8_ok else FileKind.BINARY
    return _Content(size, sha, kind, False, None, sha, blob_put_file(sha, spill.name))


def stage(
    *,
    upload: Upload,
    reader: Reader,
    limits: Limits,
    tmp_dir: Path,
    progress: ProgressFn | None = None,
) -> StageResult:
    """Validate and stage every kept file of `reader` as UploadEntry rows of `upload`.

    On any refusal the blobs this call created are reported through the exception's
    `new_blobs` attribute so the caller can collect them; no entry rows are left only if
    the caller deletes them (services do, with the upload).
    """
    new_blobs: set[str] = set()
    try:
        budget = _Budget(reader, limits)
        plan = scan(reader, limits=limits, skip_ignored=upload.skip_ignored, budget=budget)
        total = len(plan.kept)
        if progress:
            progress(0, total)
        # .gitignore files read in pass 1 stay counted; the kept ones are counted again
        # as they are read below, so take their first count back.
        budget.total -= sum(n for i, n in plan.gitignore_bytes.items() if i in plan.kept)
        batch: list[UploadEntry] = []
        done = 0
        total_bytes = 0
        for index, member in enumerate(reader.members()):
            path = plan.kept.get(index)
            if path is None:
                continue
            try:
                fh = member.open()
            except (zipfile.BadZipFile, zlib.error, *TAR_ERRORS) as exc:
                raise Invalid(
                    f"{shown(path)} is truncated or corrupt and cannot be read ({exc}).",
                    code="corrupt",
                ) from None
            with fh:
                content = _read_content(
                    fh, path=path, member=member, limits=limits, budget=budget, tmp_dir=tmp_dir
                )
            if content.new_blob:
                new_blobs.add(content.blob)
            total_bytes += content.size
            batch.append(
                UploadEntry(
                    upload=upload,
                    path=path,
                    path_key=path_key(path),
                    kind=content.kind,
                    editable=content.editable,
                    size=content.size,
                    sha256=content.sha256,
                    language=language_for(path),
                    text=content.text,
                    blob=content.blob,
                )
            )
            done += 1
            if len(batch) >= BATCH:
                UploadEntry.objects.bulk_create(batch)
                batch = []
                if progress:
                    progress(done, total)
        if done != total:  # a stream that ended early, or members that changed between passes
            raise Invalid(
                f"{shown(reader.name)} is truncated or corrupt: {total - done} files could "
                "not be read.",
                code="corrupt",
            )
        UploadEntry.objects.bulk_create(batch)
        if progress:
            progress(done, total)
    except Exception as exc:
        exc.new_blobs = new_blobs  # type: ignore[attr-defined]
        raise
    finally:
        reader.close()
    skipped = sorted(plan.skipped.values(), key=lambda s: s["path"])
    return StageResult(
        files=done,
        bytes=total_bytes,
        skipped=skipped[:SKIPPED_LISTED_MAX],
        skipped_total=sum(s["files"] for s in skipped),
        empty_folders=plan.empty_folders,
        new_blobs=new_blobs,
    )
