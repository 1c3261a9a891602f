"""Preview, confirm, cancel and expiry of staged uploads; folder uploads; background ingest."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from editor.core.errors import Conflict, Forbidden, Gone, Invalid
from editor.projects.models import ProjectFile, Upload, UploadEntry, UploadStatus
from editor.projects.uploads import (
    upload_cancel,
    upload_confirm,
    upload_start,
    uploads_purge_expired,
)
from tests.projects.helpers import archive, blob_files, make_zip

V1 = {"a.py": "one\n", "b.py": "two\n", "img.bin": b"\x00\x01" * 100}
V2 = {"a.py": "one\n", "b.py": "TWO\n", "c.py": "three\n", "img.bin": b"\x00\x02" * 100}


def test_plan_shows_added_changed_unchanged_before_anything_changes(
    cast, ingest, django_capture_on_commit_callbacks
):
    ingest("v1.zip", make_zip(V1))
    b_before = ProjectFile.objects.get(room=cast.room, path="b.py")
    upload = upload_start(room=cast.room, actor=cast.bob, files=[archive("v2.zip", make_zip(V2))])
    assert upload.status == UploadStatus.READY
    plan = upload.plan
    assert plan["counts"] == {"added": 1, "changed": 2, "unchanged": 1, "skipped": 0}
    assert plan["added"] == ["c.py"] and plan["changed"] == ["b.py", "img.bin"]
    # Nothing applied yet.
    assert ProjectFile.objects.get(pk=b_before.pk).text == "two\n"
    assert not ProjectFile.objects.filter(path="c.py").exists()

    with django_capture_on_commit_callbacks(execute=True):
        upload_confirm(room=cast.room, actor=cast.bob, upload_id=upload.id)
    b_after = ProjectFile.objects.get(pk=b_before.pk)
    assert b_after.text == "TWO\n" and b_after.doc_id == b_before.doc_id
    assert b_after.updated_by == cast.bob
    assert not UploadEntry.objects.exists()
    # The replaced image's old blob is gone, the new one is there.
    new_sha = ProjectFile.objects.get(room=cast.room, path="img.bin").blob
    assert {b.rsplit("/", 1)[1] for b in blob_files()} == {new_sha}


def test_cancel_discards_entries_and_new_blobs(cast, ingest, project_snapshot):
    ingest("v1.zip", make_zip(V1))
    before = project_snapshot()
    upload = upload_start(room=cast.room, actor=cast.alice, files=[archive("v2.zip", make_zip(V2))])
    assert UploadEntry.objects.filter(upload=upload).exists()
    upload_cancel(room=cast.room, actor=cast.alice, upload_id=upload.id)
    assert project_snapshot() == before
    with pytest.raises(Gone):
        upload_confirm(room=cast.room, actor=cast.alice, upload_id=upload.id)


def test_confirm_twice_is_a_conflict(cast):
    upload = upload_start(room=cast.room, actor=cast.alice, files=[archive("p.zip", make_zip(V1))])
    upload_confirm(room=cast.room, actor=cast.alice, upload_id=upload.id)
    with pytest.raises(Conflict):
        upload_confirm(room=cast.room, actor=cast.alice, upload_id=upload.id)


def test_expired_upload_is_gone_and_purged(cast, project_snapshot):
    before = project_snapshot()
    upload = upload_start(room=cast.room, actor=cast.alice, files=[archive("p.zip", make_zip(V1))])
    Upload.objects.filter(pk=upload.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Gone):
        upload_confirm(room=cast.room, actor=cast.alice, upload_id=upload.id)
    assert uploads_purge_expired() == 1
    assert Upload.objects.get(pk=upload.pk).status == UploadStatus.EXPIRED
    assert project_snapshot() == before


def test_project_changed_under_a_staged_upload(cast):
    """A folder created after the preview meets a file of the upload: confirm refuses."""
    from editor.projects.services import folder_create

    upload = upload_start(room=cast.room, actor=cast.alice, files=[archive("p.zip", make_zip(V1))])
    folder_create(room=cast.room, actor=cast.bob, path="a.py")
    with pytest.raises(Conflict) as refused:
        upload_confirm(room=cast.room, actor=cast.alice, upload_id=upload.id)
    assert "a.py" in refused.value.message
    assert not ProjectFile.objects.filter(room=cast.room).exists()


def test_folder_upload_keeps_relative_paths(cast):
    files = [
        SimpleUploadedFile(n, c)
        for n, c in [("x.py", b"x"), ("y.md", b"y"), ("z.zip", b"PK\x03\x04\xff\x00junk")]
    ]
    paths = ["proj/src/x.py", "proj/docs/y.md", "proj/z.zip"]
    upload = upload_start(room=cast.room, actor=cast.alice, files=files, paths=paths)
    upload_confirm(room=cast.room, actor=cast.alice, upload_id=upload.id)
    stored = dict(ProjectFile.objects.filter(room=cast.room).values_list("path", "kind"))
    assert stored == {"proj/src/x.py": "text", "proj/docs/y.md": "text", "proj/z.zip": "binary"}


def test_folder_upload_refuses_traversal_in_a_relative_path(cast, project_snapshot):
    before = project_snapshot()
    with pytest.raises(Invalid) as refused:
        upload_start(
            room=cast.room,
            actor=cast.alice,
            files=[SimpleUploadedFile("a", b"1"), SimpleUploadedFile("b", b"2")],
            paths=["ok/a.txt", "ok/../../b.txt"],
        )
    assert "ok/../../b.txt" in refused.value.message
    assert project_snapshot() == before


def test_single_file_and_archive_kept_whole_when_extract_is_off(cast):
    data = make_zip({"inner.py": "x"})
    upload = upload_start(
        room=cast.room, actor=cast.alice, files=[archive("bundle.zip", data)], extract=False
    )
    upload_confirm(room=cast.room, actor=cast.alice, upload_id=upload.id)
    assert list(ProjectFile.objects.filter(room=cast.room).values_list("path", "kind")) == [
        ("bundle.zip", "binary")
    ]


def test_viewer_and_outsider_cannot_upload(cast, project_snapshot):
    before = project_snapshot()
    for who in (cast.carol, cast.mallory, cast.dave):
        with pytest.raises(Forbidden):
            upload_start(room=cast.room, actor=who, files=[archive("p.zip", make_zip(V1))])
    assert project_snapshot() == before


def test_large_upload_is_staged_by_celery_and_reports_progress(
    cast, settings, django_capture_on_commit_callbacks, celery_eager
):
    import msgpack

    from editor.core.redis_clients import sync_client
    from editor.rooms.relay import room_channel

    settings.FLINT_UPLOAD_INLINE_MAX_BYTES = 100
    # What every room socket hears: the room's relay channel (editor/rooms/relay.py).
    listener = sync_client().pubsub(ignore_subscribe_messages=True)
    listener.subscribe(room_channel(cast.room.pk))
    files = {f"src/m{i}.py": f"x = {i}\n" * 50 for i in range(1200)}
    with django_capture_on_commit_callbacks(execute=True):
        upload = upload_start(
            room=cast.room, actor=cast.alice, files=[archive("big.zip", make_zip(files))]
        )
        assert upload.background and upload.status == UploadStatus.QUEUED
    upload.refresh_from_db()
    assert upload.status == UploadStatus.READY, upload.error
    assert upload.plan["counts"]["added"] == 1200
    assert upload.progress_done == upload.progress_total == 1200

    events = []
    quiet_until = time.monotonic() + 2  # read until two seconds pass without a frame
    while time.monotonic() < quiet_until:
        message = listener.get_message(timeout=0.5)
        if message is not None:
            body = msgpack.unpackb(message["data"], raw=False)
            events.extend(json.loads(item["text"]) for item in body["items"])
            quiet_until = time.monotonic() + 2
    listener.close()
    progress = [e for e in events if e.get("type") == "upload.progress"]
    assert progress and progress[-1]["done"] == 1200
    assert events[-1]["type"] == "upload.ready"
    upload_confirm(room=cast.room, actor=cast.alice, upload_id=upload.id)
    assert ProjectFile.objects.filter(room=cast.room).count() == 1200


def test_background_refusal_is_visible_and_writes_nothing(
    cast, settings, django_capture_on_commit_callbacks, celery_eager, project_snapshot
):
    settings.FLINT_UPLOAD_INLINE_MAX_BYTES = 10
    before = project_snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        upload = upload_start(
            room=cast.room, actor=cast.alice, files=[archive("p.zip", make_zip({"../x": "1"}))]
        )
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED
    assert "../x" in upload.error and "climbs" in upload.error
    assert project_snapshot() == before
