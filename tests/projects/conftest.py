from __future__ import annotations

import pytest


@pytest.fixture
def room(cast):
    return cast.room


@pytest.fixture
def ingest(cast):
    """ingest(name, data, actor=alice, **options): upload and confirm; returns the plan."""
    from editor.projects.uploads import upload_confirm, upload_start
    from tests.projects.helpers import archive

    def run(name: str, data: bytes, *, actor=None, **options):
        actor = actor or cast.alice
        upload = upload_start(room=cast.room, actor=actor, files=[archive(name, data)], **options)
        return upload_confirm(room=cast.room, actor=actor, upload_id=upload.id)

    return run


@pytest.fixture
def project_snapshot(cast):
    """The project's files (path -> sha256), its folders, and the blobs on disk."""
    from editor.projects.models import ProjectFile, ProjectFolder, UploadEntry
    from tests.projects.helpers import blob_files, staging_leftovers

    def take():
        return {
            "files": dict(ProjectFile.objects.filter(room=cast.room).values_list("path", "sha256")),
            "folders": set(
                ProjectFolder.objects.filter(room=cast.room).values_list("path", flat=True)
            ),
            "blobs": blob_files(),
            "entries": UploadEntry.objects.count(),
            "staging": staging_leftovers(),
        }

    return take


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Each test gets its own blob store and staging area, so blob sets can be compared."""
    settings.FLINT_BLOB_DIR = tmp_path / "blobs"
    settings.FLINT_UPLOAD_STAGING_DIR = tmp_path / "uploads"


@pytest.fixture
def celery_eager():
    """Run Celery tasks in-process (the unit-level stand-in for a worker)."""
    from webapp.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture
async def collab_hub():
    """For tests with document sockets: stop this loop's collab hub before the loop ends."""
    yield
    import asyncio

    from editor.collab import hub

    current = hub._hubs.get(asyncio.get_running_loop())
    if current is not None:
        await current.close()
