"""The agent's working copy: the snapshot's files as the agent has changed them so far.

Paths go through the projects' one normal form (editor/projects/paths.py): anything
absolute or climbing with `..` is refused as a ToolError, which goes back to the model
as the tool's answer while the task carries on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from editor.core.errors import Invalid
from editor.projects.paths import path_key, path_normalize


class ToolError(Exception):
    """A tool call that cannot be done; the message is the model's tool result."""


def clean_path(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ToolError("A path is required (relative to the project root).")
    try:
        return path_normalize(raw.strip())
    except Invalid as exc:
        raise ToolError(f"Refused: {exc.message} Only paths inside the project exist.") from None


@dataclass
class WorkingCopy:
    """Text files by path; `base` is the snapshot, `files` the agent's current version."""

    base: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)
    scope: list[str] = field(default_factory=list)
    max_bytes: int = 2 * 1024 * 1024

    def __post_init__(self) -> None:
        if not self.files:
            self.files = dict(self.base)

    def _find(self, path: str) -> str | None:
        """The stored spelling of `path` (keys are unique case-folded, like the project)."""
        if path in self.files:
            return path
        key = path_key(path)
        return next((p for p in self.files if path_key(p) == key), None)

    def read(self, raw: object) -> tuple[str, str]:
        path = clean_path(raw)
        found = self._find(path)
        if found is None:
            raise ToolError(f"{path}: no such file in the project (list_files shows them).")
        return found, self.files[found]

    def in_scope(self, path: str) -> bool:
        if not self.scope:
            return True
        key = path_key(path)
        for item in self.scope:
            scope_key = path_key(item)
            if key == scope_key or key.startswith(scope_key + "/"):
                return True
        return False

    def check_writable(self, path: str) -> None:
        if not self.in_scope(path):
            raise ToolError(
                f"{path} is outside this task's scope ({', '.join(self.scope)}); "
                "change only files inside it."
            )

    def write(self, path: str, text: str) -> None:
        self.check_writable(path)
        if len(text.encode("utf-8", "surrogatepass")) > self.max_bytes:
            raise ToolError(f"{path}: the new text is larger than {self.max_bytes} bytes.")
        if "\x00" in text:
            raise ToolError(f"{path}: text files cannot contain NUL characters.")
        found = self._find(path)
        self.files[found or path] = text

    def delete(self, path: str) -> None:
        self.check_writable(path)
        found = self._find(path)
        if found is None:
            raise ToolError(f"{path}: no such file to delete.")
        del self.files[found]

    def changed(self) -> dict[str, str | None]:
        """path -> proposed text (None: deleted) for every file that differs from base."""
        out: dict[str, str | None] = {}
        for path, text in self.files.items():
            if self.base.get(path) != text:
                out[path] = text
        for path in self.base:
            if path not in self.files:
                out[path] = None
        return out
