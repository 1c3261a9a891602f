"""Project paths: one normal form for every path that enters Flint, whatever its source.

A project path is relative POSIX, NFC-normalized, without `.` or empty segments. Anything
that could climb out of the project (`..`, an absolute path, a drive letter, a backslash
path that climbs) is refused rather than repaired, so that the user learns their archive is
odd. Uniqueness is decided on `path_key` (NFC + case-folded): two names that differ only in
case would overwrite each other when the project is unpacked on macOS or Windows.

A new name must also be portable and visible: no invisible or bidirectional characters (a
name could pass for another), no line separators, nothing Windows refuses (`CON`, `aux.txt`,
a trailing dot or space, `<>:"|?*`), so that every export unpacks everywhere. Names that
already exist are looked up with the older, looser rules (`portable=False`), so that a file
stored before these rules can still be renamed or deleted.
"""

from __future__ import annotations

import re
import unicodedata

from editor.core.errors import Invalid
from editor.projects.models import PATH_MAX

SEGMENT_MAX_BYTES = 255
_DRIVE = re.compile(r"^[A-Za-z]:")
_ZWJ = "\u200d"
_BIDI = {*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C}
_ZERO_WIDTH = {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF}
_LINE_SEPARATORS = {0x2028, 0x2029}
_WINDOWS_CHARS = set('<>:"|?*')  # a backslash never stays in a name: it is a separator
_WINDOWS_RESERVED = {
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
    *(f"{port}{n}" for port in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3"),
}  # fmt: skip


def shown(raw: str) -> str:
    """A path as it can be printed in a message: control characters and bad bytes escaped."""
    text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def _char_problem(text: str, *, portable: bool) -> str | None:
    """What is wrong with the characters of a name (None: nothing)."""
    for ch in text:
        cp = ord(ch)
        category = unicodedata.category(ch)
        if category == "Cc":
            return "the name contains control characters"
        if not portable and (category != "Cf" or ch == _ZWJ):
            continue  # the looser rules of names stored before: only Cc and Cf (but ZWJ)
        if cp in _BIDI:
            return (
                f"the name contains a bidirectional control character (U+{cp:04X}), "
                "which can make it display as another name"
            )
        if cp in _ZERO_WIDTH:
            return f"the name contains an invisible zero-width character (U+{cp:04X})"
        if cp in _LINE_SEPARATORS:
            return f"the name contains a line or paragraph separator (U+{cp:04X})"
        if category == "Cf":
            return f"the name contains an invisible formatting character (U+{cp:04X})"
    return None


def _segment_problem(part: str) -> str | None:
    """What Windows would refuse in one name of a path (None: nothing)."""
    bad = sorted(_WINDOWS_CHARS & set(part))
    if bad:
        return (
            f"the name {part!r} contains {''.join(bad)}, which Windows does not allow in "
            'names (<>:"|?*)'
        )
    if part.endswith((".", " ")):
        return f"the name {part!r} ends with a dot or a space, which Windows drops"
    if part.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
        return f"{part!r} is a reserved device name on Windows (CON, PRN, AUX, NUL, COM1, LPT1…)"
    return None


def portable_problem(path: str) -> str | None:
    """Why a normalized path may not be a new name in a project (None: it may)."""
    problem = _char_problem(path, portable=True)
    if problem:
        return problem
    for part in path.split("/"):
        problem = _segment_problem(part)
        if problem:
            return problem
    if len(path_key(path)) > PATH_MAX:
        # The key is what the database stores and indexes; case folding can make it
        # longer than the path (ß -> ss, ΐ -> three characters).
        return f"the path is longer than {PATH_MAX} characters once case is folded"
    return None


def path_normalize(raw: str, *, is_dir: bool = False, portable: bool = True) -> str:
    """The normal form of `raw`, or Invalid naming the path and what is wrong with it.

    `portable=False` keeps only the rules that protect Flint itself, for naming a path
    that may already exist (the source of a move, a delete) or that ingest checks later.
    """
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{shown(raw)}: the name is not valid UTF-8.", code="bad_name") from None
    problem = _char_problem(raw, portable=portable)
    if problem:
        raise Invalid(f"{shown(raw)}: {problem}.", code="bad_name")
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
    if portable:
        problem = portable_problem(path)
        if problem:
            raise Invalid(f"{shown(raw)}: {problem}.", code="bad_name")
    return path


def path_key(path: str) -> str:
    """What must be unique in a project: NFC, then case-folded (and NFC again after folding)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", path).casefold())


def parents(path: str) -> list[str]:
    """Every ancestor folder of a path, shallowest first: a/b/c -> [a, a/b]."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
