"""The projects router end to end over HTTP, with real tokens and the API's error shape;
plus the browser download views and the export round trip."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client

from tests.api.helpers import assert_error
from tests.projects.helpers import make_tar, make_zip

PROJECT = {
    "README.md": "# Demo\r\nWindows line endings survive.\n",
    "src/main.py": "print('héllo')\n",
    "src/util/__init__.py": "",
    "assets/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40,
    "data/big.csv": "a,b\n" + "1,2\n" * 3000,
}


@pytest.fixture
def token_client(db):
    from editor.accounts.tokens import token_create

    def make(user) -> Client:
        _, raw = token_create(user=user, name="projects tests", ttl_days=1)
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


def _upload(client: Client, room_id: int, name: str, data: bytes, **form):
    files = {"files": io.BytesIO(data)}
    files["files"].name = name
    return client.post(f"/api/rooms/{room_id}/files/uploads", {**files, **form})


def _zip_contents(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_upload_confirm_list_read_write_move_delete_export(cast, token_client, settings):
    settings.FLINT_EDITABLE_MAX_BYTES = 8000
    alice = token_client(cast.alice)
    room_id = cast.room.pk
    answer = _upload(alice, room_id, "demo.zip", make_zip(PROJECT))
    assert answer.status_code == 201, answer.content
    staged = answer.json()
    assert staged["status"] == "ready" and staged["plan"]["counts"]["added"] == len(PROJECT)

    confirmed = alice.post(f"/api/rooms/{room_id}/files/uploads/{staged['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "applied"

    tree = alice.get(f"/api/rooms/{room_id}/files").json()
    by_path = {f["path"]: f for f in tree["files"]}
    assert set(by_path) == set(PROJECT)
    assert tree["folders"] == ["assets", "data", "src", "src/util"]
    assert tree["limits"]["editable_max_bytes"] == 8000
    logo, csv, main = by_path["assets/logo.png"], by_path["data/big.csv"], by_path["src/main.py"]
    assert (logo["kind"], logo["editable"]) == ("binary", False)
    assert (csv["kind"], csv["editable"]) == ("text", False)  # larger than the editable limit
    assert (main["language"], main["editable"]) == ("python", True)

    read = alice.get(f"/api/rooms/{room_id}/files/{main['id']}").json()
    assert read["text"] == "print('héllo')\n" and read["doc_id"] == main["doc_id"]
    raw = alice.get(read["raw_url"])
    assert raw["Content-Disposition"].startswith("attachment")
    assert (
        b"".join(raw.streaming_content if raw.streaming else [raw.content])
        == PROJECT["src/main.py"].encode()
    )
    logo_raw = alice.get(f"/api/rooms/{room_id}/files/{logo['id']}/raw")
    assert b"".join(logo_raw.streaming_content) == PROJECT["assets/logo.png"]

    written = alice.put(
        f"/api/rooms/{room_id}/files/{main['id']}",
        data=json.dumps({"text": "print(2)\n", "expected_sha256": main["sha256"]}),
        content_type="application/json",
    )
    assert written.status_code == 200, written.content
    stale = alice.put(
        f"/api/rooms/{room_id}/files/{main['id']}",
        data=json.dumps({"text": "print(3)\n", "expected_sha256": main["sha256"]}),
        content_type="application/json",
    )
    assert_error(stale, 409, "stale")
    read_only = alice.put(
        f"/api/rooms/{room_id}/files/{logo['id']}",
        data=json.dumps({"text": "x"}),
        content_type="application/json",
    )
    assert_error(read_only, 409, "read_only")

    moved = alice.post(
        f"/api/rooms/{room_id}/files/move",
        data=json.dumps({"from_path": "src", "to_path": "lib"}),
        content_type="application/json",
    )
    assert moved.status_code == 200, moved.content
    created = alice.post(
        f"/api/rooms/{room_id}/files",
        data=json.dumps({"path": "notes/todo.md", "text": "- ship\n"}),
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["file"]["language"] == "markdown"
    deleted = alice.delete(f"/api/rooms/{room_id}/files?path=data")
    assert deleted.json() == {"path": "data", "files_deleted": 1}

    exported = alice.get(f"/api/rooms/{room_id}/files/export")
    assert exported["Content-Type"] == "application/zip"
    contents = _zip_contents(b"".join(exported.streaming_content))
    expected = {k: (v.encode() if isinstance(v, str) else v) for k, v in PROJECT.items()}
    expected = {k.replace("src/", "lib/", 1): v for k, v in expected.items() if k != "data/big.csv"}
    expected["lib/main.py"] = b"print(2)\n"
    expected["notes/todo.md"] = b"- ship\n"
    assert contents == expected


def test_export_round_trip_is_byte_identical(cast, token_client):
    """Upload a zip, export it, and get every file back byte for byte."""
    alice = token_client(cast.alice)
    files = {**PROJECT, "empty/": b"", "unicode/naïve ☃.txt": "snow\n"}
    staged = _upload(alice, cast.room.pk, "p.zip", make_zip(files)).json()
    alice.post(f"/api/rooms/{cast.room.pk}/files/uploads/{staged['id']}/confirm")
    exported = alice.get(f"/api/rooms/{cast.room.pk}/files/export")
    got = _zip_contents(b"".join(exported.streaming_content))
    want = {k: (v.encode() if isinstance(v, str) else v) for k, v in files.items()}
    assert got == want


def test_folder_upload_over_http(cast, token_client):
    alice = token_client(cast.alice)
    parts = [io.BytesIO(b"a"), io.BytesIO(b"b")]
    parts[0].name, parts[1].name = "a.py", "b.py"
    answer = alice.post(
        f"/api/rooms/{cast.room.pk}/files/uploads",
        {"files": parts, "paths": json.dumps(["proj/a.py", "proj/pkg/b.py"])},
    )
    assert answer.status_code == 201, answer.content
    assert sorted(answer.json()["plan"]["added"]) == ["proj/a.py", "proj/pkg/b.py"]


def test_bad_archive_over_http_answers_400_naming_the_path(cast, token_client):
    alice = token_client(cast.alice)
    answer = _upload(alice, cast.room.pk, "p.tgz", make_tar({"../../etc/cron.d/x": "boom"}))
    body = assert_error(answer, 400, "path_traversal")
    assert "../../etc/cron.d/x" in body["message"]


def test_viewer_cannot_upload_or_write_and_outsider_cannot_read(cast, token_client):
    from editor.projects.services import file_create

    created = file_create(room=cast.room, actor=cast.bob, path="a.py", text="secret")
    carol, mallory = token_client(cast.carol), token_client(cast.mallory)
    assert_error(_upload(carol, cast.room.pk, "p.zip", make_zip({"x": "y"})), 403, "forbidden")
    assert_error(
        carol.put(
            f"/api/rooms/{cast.room.pk}/files/{created.pk}",
            data=json.dumps({"text": "mine"}),
            content_type="application/json",
        ),
        403,
        "forbidden",
    )
    assert carol.get(f"/api/rooms/{cast.room.pk}/files/{created.pk}").json()["text"] == "secret"
    for path in ("", f"/{created.pk}", f"/{created.pk}/raw", "/export"):
        assert_error(mallory.get(f"/api/rooms/{cast.room.pk}/files{path}"), 403, "forbidden")
    assert_error(Client().get(f"/api/rooms/{cast.room.pk}/files"), 401, "not_authenticated")


def test_browser_downloads_need_a_session_and_membership(cast, client):
    from editor.projects.services import file_create

    created = file_create(room=cast.room, actor=cast.bob, path="b';&.html", text="<script>")
    export_url = f"/rooms/{cast.room.pk}/export.zip"
    raw_url = f"/rooms/{cast.room.pk}/files/{created.pk}/raw"
    assert client.get(export_url).status_code == 302  # to the login page
    client.force_login(cast.mallory)
    assert client.get(raw_url).status_code == 403
    client.force_login(cast.carol)
    raw = client.get(raw_url)
    assert raw.status_code == 200 and raw.content == b"<script>"
    assert raw["Content-Disposition"].startswith("attachment")  # never rendered inline
    assert raw["X-Content-Type-Options"] == "nosniff"
    exported = client.get(export_url)
    assert _zip_contents(b"".join(exported.streaming_content)) == {"b';&.html": b"<script>"}
