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
