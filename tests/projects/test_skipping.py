"""Tool folders, virtualenvs and .gitignore'd paths are left out by default, with reasons."""

from __future__ import annotations

from editor.projects.models import ProjectFile
from tests.projects.helpers import make_tar, make_zip

PROJECT = {
    ".gitignore": "*.log\nbuild/\n!keep.log\n",
    "app/.gitignore": "secrets.txt\n/local/\n",
    "app/main.py": "print(1)\n",
    "app/secrets.txt": "hunter2",
    "app/local/cache.db": "x",
    "app/sub/local/kept.txt": "a folder called local deeper down is not /local/",
    "debug.log": "noise",
    "keep.log": "kept by the negation",
    "build/out.o": "object",
    ".git/HEAD": "ref: refs/heads/main\n",
    "node_modules/left-pad/index.js": "module.exports = 1",
    "pkg/__pycache__/mod.cpython-311.pyc": b"\x00\x01",
    "myenv/pyvenv.cfg": "home = /usr/bin\n",
    "myenv/lib/site.py": "x",
    ".venv/bin/python": "x",
}
KEPT = {
    ".gitignore",
    "app/.gitignore",
    "app/main.py",
    "app/sub/local/kept.txt",
    "keep.log",
}


def _paths(cast) -> set[str]:
    return set(ProjectFile.objects.filter(room=cast.room).values_list("path", flat=True))


def test_default_upload_skips_tools_venvs_and_gitignored_paths(cast, ingest):
    plan = ingest("p.zip", make_zip(PROJECT))
    assert _paths(cast) == KEPT
    reasons = {s["path"]: s["reason"] for s in plan["skipped"]}
    assert reasons == {
        ".git": "version-control folder",
        ".venv": "Python virtualenv",
        "node_modules": "installed dependencies",
        "pkg/__pycache__": "Python bytecode cache",
        "myenv": "Python virtualenv (has pyvenv.cfg)",
        "app/secrets.txt": "ignored by .gitignore",
        "app/local": "ignored by .gitignore",
        "build": "ignored by .gitignore",
        "debug.log": "ignored by .gitignore",
    }
    assert plan["counts"]["skipped"] == len(PROJECT) - len(KEPT)


def test_gitignore_after_the_files_it_ignores_in_a_tar_stream(cast, ingest):
    """A tar is a stream: the .gitignore may come last and still applies."""
    files = {"a.tmp": "x", "src/b.tmp": "y", "src/c.py": "z", ".gitignore": "*.tmp\n"}
    ingest("p.tgz", make_tar(files))
    assert _paths(cast) == {"src/c.py", ".gitignore"}


def test_skipping_can_be_turned_off(cast, ingest):
    ingest("p.zip", make_zip(PROJECT), skip_ignored=False)
    assert _paths(cast) == set(PROJECT)


def test_empty_folders_in_an_archive_are_kept_unless_skipped(cast, ingest):
    from editor.projects.models import ProjectFolder

    ingest(
        "p.zip",
        make_zip(
            {"docs/": b"", "src/": b"", "src/a.py": "x", "build/": b"", ".gitignore": "build/\n"}
        ),
    )
    assert set(ProjectFolder.objects.filter(room=cast.room).values_list("path", flat=True)) == {
        "docs"
    }
