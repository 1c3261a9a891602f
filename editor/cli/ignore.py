"""Which local files a push or a sync leaves out: .gitignore, .flintignore and always-skip."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

# Never sent: version control, the sync's own state, and folders the server skips anyway.
ALWAYS_SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".flint", "node_modules", "__pycache__", ".venv", "venv",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox"}
)  # fmt: skip
IGNORE_FILES = (".gitignore", ".flintignore")
TMP_PREFIX = ".flint-tmp-"  # the sync's atomic writes (sync/localfs.py)


@dataclass
class Rules:
    """Ignore files found so far, each applying below its own folder (as git does)."""

    root: Path
    specs: list[tuple[str, pathspec.PathSpec]] = field(default_factory=list)

    def load_dir(self, rel_dir: str) -> None:
        for name in IGNORE_FILES:
            path = self.root / rel_dir / name
            try:
                lines = path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            self.specs.append((rel_dir, pathspec.GitIgnoreSpec.from_lines(lines)))

    def ignored(self, rel: str, *, is_dir: bool = False) -> bool:
        parts = rel.split("/")
        if any(part in ALWAYS_SKIP_DIRS for part in (parts if is_dir else parts[:-1])):
            return True
        if parts[-1].startswith(TMP_PREFIX):
            return True
        for base, spec in self.specs:
            if base and not rel.startswith(base + "/"):
                continue
            inner = rel[len(base) + 1 :] if base else rel
            if spec.match_file(inner + "/" if is_dir else inner):
                return True
        return False


def rules_for(root: Path) -> Rules:
    """Every ignore file under `root` (loaded top-down), for checking single paths later."""
    rules = Rules(root)
    walk(root, rules)
    return rules


def walk(root: Path, rules: Rules | None = None) -> tuple[list[str], list[str]]:
    """(kept, skipped) relative file paths under `root`, sorted; symlinks are not followed."""
    rules = rules if rules is not None else Rules(root)
    kept: list[str] = []
    skipped: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        rules.load_dir(rel_dir)
        for name in list(dirnames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rules.ignored(rel, is_dir=True) or os.path.islink(os.path.join(dirpath, name)):
                dirnames.remove(name)
                skipped.append(rel + "/")
        for name in filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            full = os.path.join(dirpath, name)
            if rules.ignored(rel) or os.path.islink(full) or not os.path.isfile(full):
                skipped.append(rel)
            else:
                kept.append(rel)
    return sorted(kept), sorted(skipped)
