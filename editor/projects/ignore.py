"""What an upload leaves out by default: tool folders, virtualenvs and .gitignore'd paths.

Git's rules, as `pathspec`'s gitwildmatch implements them: every .gitignore applies to the
folder it sits in and below, a deeper file overrides a shallower one (last match wins, `!`
re-includes), and nothing can be re-included from inside an ignored folder.

A .gitignore is data from the uploader, so its cost is bounded: at most 100 files of 64 KB
and 1,000 patterns each (5,000 in all), each compiled once into one RE2 set, which
matches a path against all its patterns in linear time (Python's `re` backtracks: one
pattern of `*a*a*a*a*a*a*a*a*b` took a minute against a 60-character name).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pathspec
import re2
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from editor.core.errors import Invalid
from editor.projects.paths import parents, shown

ALWAYS_SKIPPED_DIRS = {
    ".git": "version-control folder",
    ".hg": "version-control folder",
    ".svn": "version-control folder",
    "node_modules": "installed dependencies",
    "__pycache__": "Python bytecode cache",
    ".venv": "Python virtualenv",
    "venv": "Python virtualenv",
    ".virtualenv": "Python virtualenv",
    "__MACOSX": "macOS archive metadata",
}
GITIGNORE_MAX_FILES = 100
GITIGNORE_MAX_BYTES = 64 * 1024
GITIGNORE_MAX_PATTERNS = 1000
GITIGNORE_MAX_TOTAL_PATTERNS = 5000
_SKIP_HINT = "or upload with “Skip ignored files” off"


def _pattern(line: str) -> GitIgnoreSpecPattern:
    try:
        return GitIgnoreSpecPattern(line)
    except ValueError:  # git skips a pattern it cannot read (`!`, a lone backslash)
        return GitIgnoreSpecPattern("")


def named_skip(path: str) -> tuple[str, str] | None:
    """(skipped folder, reason) when a folder on the path is skipped by its name alone."""
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        reason = ALWAYS_SKIPPED_DIRS.get(part)
        if reason:
            return "/".join(parts[: i + 1]), reason
    return None


@dataclass
class IgnoreRules:
    """The .gitignore files and virtualenv roots of one upload."""

    specs: dict[str, pathspec.GitIgnoreSpec] = field(default_factory=dict)  # dir ("" = root)
    venv_roots: set[str] = field(default_factory=set)
    _dir_verdicts: dict[str, bool] = field(default_factory=dict)

    patterns: int = 0

    def add_gitignore(self, path: str, content: bytes) -> None:
        """Compile one .gitignore (`content` is at most GITIGNORE_MAX_BYTES + 1 bytes)."""
        if len(self.specs) >= GITIGNORE_MAX_FILES:
            raise Invalid(
                f"The upload has more than {GITIGNORE_MAX_FILES} .gitignore files; "
                f"remove some {_SKIP_HINT}.",
                code="too_many_gitignores",
            )
        if len(content) > GITIGNORE_MAX_BYTES:
            raise Invalid(
                f"{shown(path)} is larger than {GITIGNORE_MAX_BYTES // 1024} KB; shorten it "
                f"{_SKIP_HINT}.",
                code="gitignore_too_large",
            )
        lines = content.decode("utf-8", "replace").splitlines()
        count = sum(1 for line in lines if line.strip() and not line.startswith("#"))
        if count > GITIGNORE_MAX_PATTERNS:
            raise Invalid(
                f"{shown(path)} has {count} patterns; a .gitignore may have at most "
                f"{GITIGNORE_MAX_PATTERNS}. Shorten it {_SKIP_HINT}.",
                code="gitignore_too_large",
            )
        self.patterns += count
        if self.patterns > GITIGNORE_MAX_TOTAL_PATTERNS:
            raise Invalid(
                f"The .gitignore files of the upload have more than "
                f"{GITIGNORE_MAX_TOTAL_PATTERNS} patterns in all (reached at {shown(path)}); "
                f"shorten them {_SKIP_HINT}.",
                code="gitignore_too_large",
            )
        try:
            spec = pathspec.GitIgnoreSpec.from_lines(lines, _pattern, backend="re2")
        except re2.error:
            raise Invalid(
                f"{shown(path)} has patterns too complex to check; simplify them {_SKIP_HINT}.",
                code="gitignore_too_large",
            ) from None
        self.specs[path.rpartition("/")[0]] = spec

    def add_venv_marker(self, path: str) -> None:
        """A pyvenv.cfg marks its folder as a virtualenv, whatever the folder is called."""
        folder = path.rpartition("/")[0]
        if folder:
            self.venv_roots.add(folder)

    def _ignored_by_git(self, path: str, *, is_dir: bool) -> bool:
        verdict: bool | None = None
        for folder in ["", *parents(path)]:
            spec = self.specs.get(folder)
            if spec is None:
                continue
            rel = path[len(folder) + 1 :] if folder else path
            if is_dir:
                rel += "/"
            result = spec.check_file(rel)
            if result.include is not None:
                verdict = result.include
        return bool(verdict)

    def skip_reason(self, path: str, *, use_gitignore: bool) -> tuple[str, str] | None:
        """(skipped root, reason) for a file path that the rules leave out, else None."""
        for folder in parents(path):
            if folder in self.venv_roots:
                return folder, "Python virtualenv (has pyvenv.cfg)"
        if not use_gitignore or not self.specs:
            return None
        for folder in parents(path):
            ignored = self._dir_verdicts.get(folder)
            if ignored is None:  # thousands of files share a few hundred folders
                ignored = self._dir_verdicts[folder] = self._ignored_by_git(folder, is_dir=True)
            if ignored:
                return folder, "ignored by .gitignore"
        if self._ignored_by_git(path, is_dir=False):
            return path, "ignored by .gitignore"
        return None

    def folder_skipped(self, folder: str, *, use_gitignore: bool) -> bool:
        """Whether an (empty) folder entry of the archive falls under the rules."""
        chain = [*parents(folder), folder]
        if named_skip(folder + "/x") or any(f in self.venv_roots for f in chain):
            return True
        if not use_gitignore or not self.specs:
            return False
        return any(self._ignored_by_git(f, is_dir=True) for f in chain)
