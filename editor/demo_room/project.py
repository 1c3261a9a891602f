"""The sample project of a demo room, read from `sample/` next to this module."""

from __future__ import annotations

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


def sample_files() -> dict[str, str]:
    """The sample project, path -> text, in path order."""
    return {
        path.relative_to(SAMPLE_DIR).as_posix(): path.read_text()
        for path in sorted(SAMPLE_DIR.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
