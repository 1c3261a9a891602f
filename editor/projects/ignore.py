"""What an upload leaves out by default: tool folders, virtualenvs and .gitignore'd paths.

Git's rules, as `pathspec`'s gitwildmatch implements them: every .gitignore applies to the
folder it sits in and below, a deeper file overrides a shallower one (last match wins, `!`
re-includes), and nothing can be re-included from inside an ignored folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pathspec

from editor.projects.paths import parents

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
GITIGNORE_MAX_BYTES = 1024 * 1024


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

    def add_gitignore(self, path: str, content: bytes) -> None:
        folder = path.rpartition("/")[0]
        lines = content.decode("utf-8", "replace").splitlines()
        self.specs[folder] = pathspec.GitIgnoreSpec.from_lines(lines)

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
