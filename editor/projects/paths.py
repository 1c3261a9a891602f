"""Project paths: one normal form for every path that enters Flint, whatever its source.

A project path is relative POSIX, NFC-normalized, without `.` or empty segments. Anything
that could climb out of the project (`..`, an absolute path, a drive letter, a backslash
path that climbs) is refused rather than repaired, so that the user learns their archive is
odd. Uniqueness is decided on `path_key` (NFC + case-folded): two names that differ only in
case would overwrite each other when the project is unpacked on macOS or Windows.
"""

from __future__ import annotations

import re
import unicodedata

from editor.core.errors import Invalid
from editor.projects.models import PATH_MAX

SEGMENT_MAX_BYTES = 255
_DRIVE = re.compile(r"^[A-Za-z]:")


def shown(raw: str) -> str:
    """A path as it can be printed in a message: control characters and bad bytes escaped."""
    text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf"} and ch != "\u200d" for ch in text)


def path_normalize(raw: str, *, is_dir: bool = False) -> str:
    """The normal form of `raw`, or Invalid naming the path and what is wrong with it."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{shown(raw)}: the name is not valid UTF-8.", code="bad_name") from None
    if _has_control(raw):
        raise Invalid(f"{shown(raw)}: the name contains control characters.", code="bad_name")
    text = raw
    if is_dir or text.endswith(("/", "\\")):
        text = text.rstrip("/\\")
    if text.startswith(("/", "\\")) or _DRIVE.match(text):
        raise Invalid(
            f"{shown(raw)}: absolute paths are not allowed in a project.", code="path_traversal"
        )
    # Some Windows tools write backslash separators; treat them as separators so that
    # `..\..\x` is caught as the climb it is.
    parts = [p for p in text.replace("\\", "/").split("/") if p not in {"", "."}]
    if any(p == ".." for p in parts):
        raise Invalid(
            f"{shown(raw)}: the path climbs out of the project (..).", code="path_traversal"
        )
    if not parts:
        raise Invalid(f"{shown(raw) or '(empty)'}: the path is empty.", code="bad_name")
    for part in parts:
        if len(part.encode("utf-8")) > SEGMENT_MAX_BYTES:
            raise Invalid(f"{shown(raw)}: a name is longer than 255 bytes.", code="bad_name")
    path = unicodedata.normalize("NFC", "/".join(parts))
    if len(path) > PATH_MAX:
        raise Invalid(f"{shown(raw)}: the path is longer than {PATH_MAX} characters.")
    return path


def path_key(path: str) -> str:
    """What must be unique in a project: NFC, then case-folded (and NFC again after folding)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", path).casefold())


def parents(path: str) -> list[str]:
    """Every ancestor folder of a path, shallowest first: a/b/c -> [a, a/b]."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
