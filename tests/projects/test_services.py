"""File operations: create, write, rename/move, delete; who may do them."""

from __future__ import annotations

import hashlib

import pytest

from editor.core.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound
from editor.projects.models import ProjectFile, ProjectFolder
from editor.projects.selectors import file_get, project_tree
from editor.projects.services import file_create, file_write, folder_create, path_delete, path_move
from tests.projects.helpers import blob_files, make_zip


def _paths(cast) -> list[str]:
    return sorted(ProjectFile.objects.filter(room=cast.room).values_list("path", flat=True))


def test_create_write_and_read(cast):
    created = file_create(room=cast.room, actor=cast.bob, path="src/app.ts", text="let a = 1\n")
    assert (created.language, created.kind, created.editable) == ("typescript", "text", True)
    written = file_write(
        room=cast.room, actor=cast.bob, file_id=created.pk, text="let a = 2\n",
        expected_sha256=created.sha256,
    )  # fmt: skip
    assert written.sha256 == hashlib.sha256(b"let a = 2\n").hexdigest()
    assert file_get(room=cast.room, actor=cast.carol, file_id=created.pk).text == "let a = 2\n"


def test_stale_write_is_a_conflict(cast):
    created = file_create(room=cast.room, actor=cast.bob, path="a.py", text="1")
    file_write(room=cast.room, actor=cast.alice, file_id=created.pk, text="2")
    with pytest.raises(Conflict) as refused:
        file_write(
            room=cast.room, actor=cast.bob, file_id=created.pk, text="3",
            expected_sha256=created.sha256,
        )  # fmt: skip
    assert refused.value.code == "stale"


def test_binary_and_oversize_files_are_read_only(cast, settings, ingest):
    settings.FLINT_EDITABLE_MAX_BYTES = 100
    ingest("p.zip", make_zip({"b.bin": b"\x00\xff", "big.txt": "x" * 500}))
    for path in ("b.bin", "big.txt"):
        target = ProjectFile.objects.get(room=cast.room, path=path)
        with pytest.raises(Conflict) as refused:
            file_write(room=cast.room, actor=cast.alice, file_id=target.pk, text="x")
        assert "read-only" in refused.value.message


def test_create_refuses_taken_paths_and_files_as_folders(cast):
    file_create(room=cast.room, actor=cast.bob, path="src/a.py")
    with pytest.raises(Conflict):
        file_create(room=cast.room, actor=cast.bob, path="SRC/A.py")
    with pytest.raises(Conflict):
        file_create(room=cast.room, actor=cast.bob, path="src/a.py/inner.py")
    with pytest.raises(Conflict):
        folder_create(room=cast.room, actor=cast.bob, path="src")
    with pytest.raises(Invalid):
        file_create(room=cast.room, actor=cast.bob, path="../escape.py")


def test_rename_and_move_keep_ids_and_doc_ids(cast):
    a = file_create(room=cast.room, actor=cast.bob, path="src/a.py")
    b = file_create(room=cast.room, actor=cast.bob, path="src/lib/b.py")
    path_move(room=cast.room, actor=cast.bob, src="src/a.py", dst="src/main.rs")
    moved = ProjectFile.objects.get(pk=a.pk)
    assert (moved.path, moved.doc_id, moved.language) == ("src/main.rs", a.doc_id, "rust")
    path_move(room=cast.room, actor=cast.bob, src="src", dst="app/code")
    assert _paths(cast) == ["app/code/lib/b.py", "app/code/main.rs"]
    assert ProjectFile.objects.get(pk=b.pk).doc_id == b.doc_id
    path_move(room=cast.room, actor=cast.bob, src="app/code", dst="app/Code")  # case only
    assert _paths(cast) == ["app/Code/lib/b.py", "app/Code/main.rs"]
    with pytest.raises(Invalid):
        path_move(room=cast.room, actor=cast.bob, src="app", dst="app/Code/inside")
    with pytest.raises(NotFound):
        path_move(room=cast.room, actor=cast.bob, src="nope", dst="x")


def test_move_onto_an_existing_path_is_refused(cast):
    file_create(room=cast.room, actor=cast.bob, path="a.py")
    file_create(room=cast.room, actor=cast.bob, path="b.py")
    with pytest.raises(Conflict):
        path_move(room=cast.room, actor=cast.bob, src="a.py", dst="B.py")
    assert _paths(cast) == ["a.py", "b.py"]


def test_empty_folders_are_created_listed_moved_and_deleted(cast):
    folder_create(room=cast.room, actor=cast.bob, path="docs/drafts")
    assert project_tree(room=cast.room, actor=cast.carol)["folders"] == ["docs", "docs/drafts"]
    path_move(room=cast.room, actor=cast.bob, src="docs", dst="notes")
    assert project_tree(room=cast.room, actor=cast.carol)["folders"] == ["notes", "notes/drafts"]
    path_delete(room=cast.room, actor=cast.bob, path="notes")
    assert not ProjectFolder.objects.filter(room=cast.room).exists()


def test_delete_file_and_folder_collects_blobs(cast, ingest, django_capture_on_commit_callbacks):
    ingest(
        "p.zip",
        make_zip({"assets/a.bin": b"\x00" * 10, "assets/b.png": b"\x89PNG\x00", "x.py": ""}),
    )
    assert len(blob_files()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert path_delete(room=cast.room, actor=cast.bob, path="assets") == 2
    assert _paths(cast) == ["x.py"] and blob_files() == set()
    path_delete(room=cast.room, actor=cast.bob, path="x.py")
    with pytest.raises(NotFound):
        path_delete(room=cast.room, actor=cast.bob, path="x.py")


def test_viewer_reads_but_cannot_write(cast):
    created = file_create(room=cast.room, actor=cast.bob, path="a.py", text="1")
    assert file_get(room=cast.room, actor=cast.carol, file_id=created.pk).pk == created.pk
    calls = [
        lambda who: file_create(room=cast.room, actor=who, path="b.py"),
        lambda who: folder_create(room=cast.room, actor=who, path="d"),
        lambda who: file_write(room=cast.room, actor=who, file_id=created.pk, text="2"),
        lambda who: path_move(room=cast.room, actor=who, src="a.py", dst="c.py"),
        lambda who: path_delete(room=cast.room, actor=who, path="a.py"),
    ]
    for call in calls:
        with pytest.raises(Forbidden):
            call(cast.carol)
    assert _paths(cast) == ["a.py"]


def test_outsiders_cannot_read(cast):
    from django.contrib.auth.models import AnonymousUser

    created = file_create(room=cast.room, actor=cast.bob, path="a.py", text="secret")
    for who in (cast.mallory, cast.dave):
        with pytest.raises(Forbidden):
            file_get(room=cast.room, actor=who, file_id=created.pk)
        with pytest.raises(Forbidden):
            project_tree(room=cast.room, actor=who)
    with pytest.raises(NotAuthenticated):
        project_tree(room=cast.room, actor=AnonymousUser())
    # A file id from another room is not found through this room.
    with pytest.raises(NotFound):
        file_get(room=cast.other_room, actor=cast.mallory, file_id=created.pk)
