"""Security: what an upload, a file name or a move can do to Flint (issue #10, items 5, 11,
12 and 13). Every case is named after the hole it closes."""

from __future__ import annotations

import io
import struct
import time
import unicodedata
import zipfile

import pytest
from django.test import Client

from editor.core.errors import Invalid
from editor.projects.models import PATH_MAX, ProjectFile, ProjectFolder, Upload, UploadEntry
from editor.projects.paths import path_key
from editor.projects.services import file_create, folder_create, path_delete, path_move
from editor.projects.uploads import upload_process, upload_start
from tests.projects.helpers import archive, blob_files, make_tar, make_zip


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.FLINT_BLOB_DIR = tmp_path / "blobs"
    settings.FLINT_UPLOAD_STAGING_DIR = tmp_path / "uploads"


@pytest.fixture
def token_client(db):
    from editor.accounts.tokens import token_create

    def make(user) -> Client:
        _, raw = token_create(user=user, name="security tests", ttl_days=1)
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


@pytest.fixture
def page_client(db):
    """The room page's own client: a browser session, CSRF enforced, the token in a header."""

    def make(user) -> tuple[Client, dict[str, str]]:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        csrf = client.get("/api/me").cookies["csrftoken"].value
        return client, {"X-CSRFToken": csrf}

    return make


@pytest.fixture
def no_directory_parse(monkeypatch):
    """Fails the test if zipfile parses a central directory (what costs 105 MB and 8 s)."""

    def refuse(self):
        raise AssertionError("zipfile parsed the central directory")

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", refuse)


def _start(cast, name: str, data: bytes, **options) -> Upload:
    return upload_start(room=cast.room, actor=cast.alice, files=[archive(name, data)], **options)


def _refused(cast, name: str, data: bytes, **options) -> Invalid:
    with pytest.raises(Invalid) as refused:
        _start(cast, name, data, **options)
    return refused.value


def _paths(cast) -> set[str]:
    return set(ProjectFile.objects.filter(room=cast.room).values_list("path", flat=True))


# --- item 5: .gitignore files inside the bomb limits, and off daphne past a small bound -----


def _self_ignoring_gitignore(size: int) -> bytes:
    """A .gitignore that ignores itself, so pass 2 never reads (never counts) it."""
    body = b".gitignore\n"
    return body + b"#" * (size - len(body) - 1) + b"\n"


def test_gitignore_bytes_count_in_bomb_budget(cast, settings):
    settings.FLINT_UPLOAD_MAX_EXPANDED_BYTES = 100_000
    files = {f"d{i}/.gitignore": _self_ignoring_gitignore(40_000) for i in range(3)}
    refused = _refused(cast, "p.zip", make_zip({**files, "main.py": "x = 1\n"}))
    assert refused.code == "too_large"
    assert "expands to more than" in refused.message and ".gitignore" in refused.message
    assert not Upload.objects.exists() and not UploadEntry.objects.exists()


def test_gitignore_bytes_counted_once_when_the_file_is_kept(cast, settings):
    settings.FLINT_UPLOAD_MAX_EXPANDED_BYTES = 60_000
    upload = _start(cast, "p.zip", make_zip({".gitignore": "#" * 40_000 + "\n", "a.py": "1"}))
    assert upload.status == "ready" and upload.plan["counts"]["added"] == 2


def test_more_than_100_gitignore_files_refused(cast):
    files = {f"d{i}/.gitignore": "*.log\n" for i in range(101)}
    refused = _refused(cast, "p.zip", make_zip(files))
    assert refused.message.startswith("The upload has more than 100 .gitignore files")


def test_gitignore_larger_than_64_kb_refused(cast):
    # The audit's case: one 150 KB .gitignore beside 500 files took 5.1 s inside daphne.
    big = "".join(f"pattern{i}/*.tmp\n" for i in range(9000)).encode()
    assert len(big) > 150_000
    files = {".gitignore": big, **{f"src/f{i}.py": "x" for i in range(500)}}
    started = time.perf_counter()
    refused = _refused(cast, "p.zip", make_zip(files))
    assert time.perf_counter() - started < 2
    assert refused.message == (
        ".gitignore is larger than 64 KB; shorten it or upload with “Skip ignored files” off."
    )


def test_gitignore_with_more_than_1000_patterns_refused(cast):
    lines = "".join(f"p{i}\n" for i in range(1001))
    refused = _refused(cast, "p.zip", make_zip({"sub/.gitignore": lines, "a.py": "1"}))
    assert "sub/.gitignore has 1001 patterns" in refused.message
    assert "at most 1000" in refused.message


def test_gitignores_with_more_than_5000_patterns_in_all_refused(cast):
    lines = "# comments are not patterns\n" + "".join(f"p{i}\n" for i in range(900))
    files = {f"d{i}/.gitignore": lines for i in range(6)}
    refused = _refused(cast, "p.zip", make_zip(files))
    assert "more than 5000 patterns in all" in refused.message


def test_gitignore_skipping_off_reads_no_gitignore(cast):
    files = {f"d{i}/.gitignore": "*.log\n" for i in range(101)}
    upload = _start(cast, "p.zip", make_zip(files), skip_ignored=False)
    assert upload.status == "ready" and upload.plan["counts"]["added"] == 101


@pytest.mark.timeout(60)
def test_gitignore_pattern_cannot_backtrack_exponentially(cast):
    """`*a*a…*b` against a long name backtracks for minutes in Python's re; RE2 is linear."""
    pattern = "*a" * 12 + "*b\n"
    files = {".gitignore": pattern, "a" * 200: "x", "keep.py": "1"}
    started = time.perf_counter()
    upload = _start(cast, "p.zip", make_zip(files))
    assert time.perf_counter() - started < 5
    assert upload.plan["counts"]["added"] == 3  # nothing matched: every file is kept


def test_gitignore_rules_still_apply_last_match_wins(cast):
    files = {
        ".gitignore": "*.log\nbuild/\n!keep.log\n",
        "a.log": "x",
        "keep.log": "x",
        "build/out.o": "x",
        "src/.gitignore": "*.tmp\n!\n\\\n",  # lines git cannot read are skipped, as git does
        "src/x.tmp": "x",
        "src/x.py": "x",
    }
    upload = _start(cast, "p.zip", make_zip(files))
    kept = set(UploadEntry.objects.filter(upload=upload).values_list("path", flat=True))
    assert kept == {".gitignore", "keep.log", "src/.gitignore", "src/x.py"}


def test_inline_upload_with_many_entries_moves_to_a_worker(cast, settings, no_directory_parse):
    settings.FLINT_UPLOAD_INLINE_MAX_ENTRIES = 50
    data = make_zip({f"f{i}.txt": str(i) for i in range(60)})
    assert len(data) < settings.FLINT_UPLOAD_INLINE_MAX_BYTES
    upload = _start(cast, "p.zip", data)  # the request never parses the directory
    assert (upload.status, upload.background) == ("queued", True)
    assert not UploadEntry.objects.exists()


def test_worker_stages_an_upload_moved_out_of_the_request(cast, settings):
    settings.FLINT_UPLOAD_INLINE_MAX_ENTRIES = 50
    upload = _start(cast, "p.tgz", make_tar({f"f{i}.txt": str(i) for i in range(60)}))
    assert (upload.status, upload.background) == ("queued", True)
    upload_process(upload_id=str(upload.id))
    upload.refresh_from_db()
    assert upload.status == "ready" and upload.plan["counts"]["added"] == 60


def test_inline_upload_expanding_past_bound_moves_to_a_worker(cast, settings):
    settings.FLINT_UPLOAD_INLINE_MAX_EXPANDED_BYTES = 50_000
    files = {f"bin{i}.dat": bytes([i]) * 30_000 + bytes(range(256)) for i in range(3)}
    upload = _start(cast, "p.zip", make_zip(files))
    assert (upload.status, upload.background) == ("queued", True)
    assert not UploadEntry.objects.exists() and not blob_files()  # what it staged is gone
    upload_process(upload_id=str(upload.id))
    upload.refresh_from_db()
    assert upload.status == "ready" and upload.plan["counts"]["added"] == 3


def test_folder_upload_with_many_files_moves_to_a_worker(cast, settings, token_client):
    settings.FLINT_UPLOAD_INLINE_MAX_ENTRIES = 5
    files = []
    for i in range(8):
        f = io.BytesIO(b"x")
        f.name = f"f{i}.txt"
        files.append(f)
    answer = token_client(cast.alice).post(
        f"/api/rooms/{cast.room.pk}/files/uploads",
        {"files": files, "paths": '["p/' + '.txt", "p/'.join(str(i) for i in range(8)) + '.txt"]'},
    )
    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "queued"


# --- item 11: moves replace real path segments; a collision is a 409 ------------------------


def test_folder_move_with_length_changing_casefold_keeps_paths(cast):
    for path in ("STRASSE/a.txt", "STRASSE/sub/b.txt"):
        file_create(room=cast.room, actor=cast.alice, path=path)
    folder_create(room=cast.room, actor=cast.alice, path="STRASSE/empty")
    # `straße` names the folder stored as `STRASSE` (same key), one character shorter.
    path_move(room=cast.room, actor=cast.alice, src="straße", dst="other")
    assert _paths(cast) == {"other/a.txt", "other/sub/b.txt"}
    folders = set(ProjectFolder.objects.filter(room=cast.room).values_list("path", "path_key"))
    assert folders == {("other/empty", "other/empty")}
    path_move(room=cast.room, actor=cast.alice, src="OTHER", dst="straße")
    assert _paths(cast) == {"straße/a.txt", "straße/sub/b.txt"}
    assert set(ProjectFile.objects.values_list("path_key", flat=True)) == {
        "strasse/a.txt",
        "strasse/sub/b.txt",
    }


def test_folder_move_collision_answers_409_not_500(cast, token_client, page_client):
    file_create(room=cast.room, actor=cast.alice, path="STRASSE/a.txt")
    file_create(room=cast.room, actor=cast.alice, path="otherE/a.txt")  # where main wrote
    file_create(room=cast.room, actor=cast.alice, path="taken/x.txt")
    url = f"/api/rooms/{cast.room.pk}/files/move"
    api = token_client(cast.alice)
    moved = api.post(url, {"from_path": "straße", "to_path": "other"}, "application/json")
    assert moved.status_code == 200, moved.content
    assert _paths(cast) == {"other/a.txt", "otherE/a.txt", "taken/x.txt"}

    clash = api.post(url, {"from_path": "other", "to_path": "TAKEN"}, "application/json")
    assert clash.status_code == 409
    assert clash.json() == {"error": "conflict", "message": "TAKEN already exists as a folder."}
    page, csrf = page_client(cast.bob)
    clash = page.post(
        url, {"from_path": "other", "to_path": "taken"}, "application/json", headers=csrf
    )
    assert clash.status_code == 409
    assert clash.json()["message"] == "taken already exists as a folder."
    assert _paths(cast) == {"other/a.txt", "otherE/a.txt", "taken/x.txt"}


def test_move_that_would_overflow_the_path_column_is_refused(cast):
    deep = "/".join(["d" * 200] * 4)  # 803 characters
    file_create(room=cast.room, actor=cast.alice, path=f"top/{deep}/f.txt")
    with pytest.raises(Invalid) as refused:
        path_move(room=cast.room, actor=cast.alice, src="top", dst="ß" * 120)
    assert "longer than 1024 characters" in refused.value.message
    assert _paths(cast) == {f"top/{deep}/f.txt"}


# --- item 12: malformed multipart, and the zip entry cap before the directory is parsed ----


def test_multipart_without_boundary_answers_400(cast, token_client, page_client):
    url = f"/api/rooms/{cast.room.pk}/files/uploads"
    answer = token_client(cast.alice).generic(
        "POST", url, b"--x\r\n", content_type="multipart/form-data"
    )
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["error"] == "invalid" and "multipart/form-data" in body["message"]
    page, csrf = page_client(cast.alice)
    answer = page.generic("POST", url, b"--x\r\n", content_type="multipart/form-data", headers=csrf)
    assert answer.status_code == 400, answer.content
    assert not Upload.objects.exists()


def _zip_of_empty_entries(count: int, *, claim: int | None = None) -> bytes:
    """`count` empty stored entries written header by header (zipfile takes ~10 s for this).

    `claim`: the entry count the end record states, which may lie.
    """
    local, central = bytearray(), bytearray()
    for i in range(count):
        name = f"{i:06d}".encode()
        offset = len(local)
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 10, 0, 0, 0, 0, 0, 0, 0, len(name), 0)
        local += name
        central += struct.pack(
            "<4s6H3L5H2L",
            *(b"PK\x01\x02", 20, 10, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, offset),
        )
        central += name
    stated = count if claim is None else claim
    if stated > 0xFFFF:  # zip64 end record and locator, as zipfile writes them
        zip64 = struct.pack(
            "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, stated, stated, len(central), len(local)
        )
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, len(local) + len(central), 1)
        end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, *(0xFFFFFFFF,) * 2, 0)
        return bytes(local + central) + zip64 + locator + end
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, stated, stated, len(central), len(local), 0)
    return bytes(local + central + end)


def test_zip_builder_makes_archives_zipfile_reads():
    data = _zip_of_empty_entries(70_000)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
    assert len(names) == 70_000 and names[-1] == "069999"


def test_zip_entry_cap_checked_before_central_directory_parse(
    cast, settings, no_directory_parse, capsys
):
    """200,001 entries (the default cap is 200,000): refused from the end record alone."""
    settings.FLINT_UPLOAD_INLINE_MAX_BYTES = 100 * 1024 * 1024  # even inside the request
    data = _zip_of_empty_entries(200_001)
    started = time.perf_counter()
    refused = _refused(cast, "many.zip", data)
    elapsed = time.perf_counter() - started
    assert refused.code == "too_many_files"
    assert refused.message == (
        "The upload has more than 200000 entries; a project holds at most 20000 files."
    )
    assert elapsed < 1, elapsed
    with capsys.disabled():
        print(f"\n200,001-entry zip ({len(data) / 1e6:.1f} MB) refused in {elapsed:.3f} s")


def test_zip_end_record_that_understates_its_entries_is_still_capped(
    cast, settings, no_directory_parse
):
    """The end record claims 3 entries; the directory holds 200,001 (zipfile trusts its size)."""
    settings.FLINT_UPLOAD_INLINE_MAX_BYTES = 100 * 1024 * 1024
    settings.FLINT_UPLOAD_INLINE_MAX_ENTRIES = 10
    upload = _start(cast, "liar.zip", _zip_of_empty_entries(200_001, claim=3))
    assert upload.status == "queued"  # too many to count in the request: a worker does
    upload_process(upload_id=str(upload.id))
    upload.refresh_from_db()
    assert upload.status == "failed"
    assert upload.error.startswith("The upload has more than 200000 entries")


# --- item 13: names that hide, mislead or do not unpack on Windows ----------------------------

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068"]
BIDI += ["\u2069", "\u200e", "\u200f", "\u061c"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2028", "\u2029"]
WINDOWS = ["CON", "con.txt", "Aux.tar.gz", "nul", "PRN.md", "COM1", "lpt9.log", "COM¹"]
WINDOWS += ["a.", "a ", "dir./x.py", "a<b", "a>b", 'a"b', "a|b", "a?b", "a*b", "a:b"]


def _api_create(client: Client, room_id: int, path: str, kind: str = "file", **extra):
    return client.post(
        f"/api/rooms/{room_id}/files",
        {"path": path, "kind": kind},
        "application/json",
        **extra,
    )


@pytest.mark.parametrize("char", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_file_names_with_bidi_controls_refused(cast, token_client, char):
    name = f"invoice{char}fdp.exe"
    answer = _api_create(token_client(cast.bob), cast.room.pk, name)
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert f"bidirectional control character (U+{ord(char):04X})" in message
    refused = _refused(cast, "p.zip", make_zip({f"docs/{name}": "x", "ok.py": "1"}))
    assert f"U+{ord(char):04X}" in refused.message and "ok.py" not in refused.message
    assert not ProjectFile.objects.exists()


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_file_names_with_invisible_or_line_separator_characters_refused(cast, token_client, char):
    api = token_client(cast.bob)
    for kind in ("file", "folder"):
        answer = _api_create(api, cast.room.pk, f"a{char}b", kind)
        assert answer.status_code == 400, answer.content
        assert f"U+{ord(char):04X}" in answer.json()["message"]
    file_create(room=cast.room, actor=cast.bob, path="plain.txt")
    with pytest.raises(Invalid):
        path_move(room=cast.room, actor=cast.bob, src="plain.txt", dst=f"pl{char}ain.txt")
    refused = _refused(cast, "p.tgz", make_tar({f"a{char}b.txt": "x"}))
    assert f"U+{ord(char):04X}" in refused.message


@pytest.mark.parametrize("name", WINDOWS)
def test_windows_reserved_names_refused(cast, token_client, page_client, name):
    answer = _api_create(token_client(cast.bob), cast.room.pk, f"src/{name}")
    assert answer.status_code == 400, answer.content
    assert "Windows" in answer.json()["message"]
    page, csrf = page_client(cast.bob)
    answer = _api_create(page, cast.room.pk, f"dir/{name}", "folder", headers=csrf)
    assert answer.status_code == 400 and "Windows" in answer.json()["message"]
    file_create(room=cast.room, actor=cast.bob, path="fine.txt")
    moved = page.post(
        f"/api/rooms/{cast.room.pk}/files/move",
        {"from_path": "fine.txt", "to_path": f"src/{name}"},
        "application/json",
        headers=csrf,
    )
    assert moved.status_code == 400 and "Windows" in moved.json()["message"]
    assert _paths(cast) == {"fine.txt"}


def test_upload_with_bad_names_is_refused_listing_every_one(cast):
    files = {"CON.txt": "x", "src/a\u202eb.py": "x", "docs/notes.": "x", "ok.py": "1"}
    refused = _refused(cast, "p.zip", make_zip(files))
    assert refused.code == "bad_name"
    assert refused.message.startswith("3 names in the upload cannot be used in a project: ")
    for shown in ("CON.txt", "src/a\\x202eb.py", "docs/notes."):
        assert shown in refused.message
    assert "ok.py" not in refused.message
    assert not Upload.objects.exists() and not ProjectFile.objects.exists()


def test_bad_names_in_skipped_folders_do_not_refuse_the_upload(cast):
    files = {
        "node_modules/pkg/aux.js": "x",
        ".gitignore": "vendor/\n",
        "vendor/con.h": "x",
        "main.py": "1",
    }
    upload = _start(cast, "p.zip", make_zip(files))
    assert upload.status == "ready" and upload.plan["counts"]["added"] == 2


def test_names_stored_before_the_rules_can_still_be_renamed_and_deleted(cast):
    for path in ("CON.txt", "old\u2028dir/a.txt"):
        ProjectFile.objects.create(
            room=cast.room, path=path, path_key=path_key(path), kind="text", size=0, sha256=""
        )
    path_move(room=cast.room, actor=cast.alice, src="CON.txt", dst="console.txt")
    path_move(room=cast.room, actor=cast.alice, src="old\u2028dir", dst="old-dir")
    assert _paths(cast) == {"console.txt", "old-dir/a.txt"}
    ProjectFile.objects.create(
        room=cast.room, path="nul", path_key="nul", kind="text", size=0, sha256=""
    )
    assert path_delete(room=cast.room, actor=cast.alice, path="NUL") == 1


def test_names_stored_before_the_rules_can_still_be_reviewed_and_scoped(cast):
    from editor.agents.models import ReviewTarget
    from editor.agents.review import review_start
    from editor.agents.services import task_start

    ProjectFile.objects.create(
        room=cast.room, path="CON.txt", path_key=path_key("CON.txt"), kind="text",
        editable=True, text="x = 1\n", size=6, sha256="",
    )  # fmt: skip
    [task] = task_start(room=cast.room, actor=cast.bob, prompt="tidy", scope=["CON.txt"])
    assert task.scope == ["CON.txt"]
    run = review_start(room=cast.room, actor=cast.bob, target=ReviewTarget.FILE, path="CON.txt")
    assert run.path == "CON.txt"


def test_ordinary_unicode_names_are_still_accepted(cast):
    names = ("straße/Ærø.md", "日本語/ファイル.txt", "emoji 😀.txt", "console/ok.txt", "a.b.c")
    for path in names:
        file_create(room=cast.room, actor=cast.alice, path=path)
    file_create(room=cast.room, actor=cast.alice, path=unicodedata.normalize("NFD", "café.txt"))
    assert "café.txt" in _paths(cast)


def test_casefolded_path_key_fits_its_column(cast):
    """'ß' folds to 'ss': a path under the limit can have a key over it (PostgreSQL refuses)."""
    for model in (ProjectFile, ProjectFolder, UploadEntry):
        assert model._meta.get_field("path_key").max_length >= PATH_MAX
        assert model._meta.get_field("path").max_length >= PATH_MAX
    segment = "ß" * 120  # 240 bytes; folds to 240 characters
    fits = "/".join([segment] * 4) + "/" + "x" * 59  # key: 4 * 241 + 59 = 1023 characters
    assert len(fits) < len(path_key(fits)) <= PATH_MAX
    file_create(room=cast.room, actor=cast.alice, path=fits)
    stored = ProjectFile.objects.get(room=cast.room)
    assert len(stored.path_key) <= ProjectFile._meta.get_field("path_key").max_length

    too_long = "/".join([segment] * 5)  # 604 characters; its key: 1204
    assert len(too_long) < PATH_MAX < len(path_key(too_long))
    with pytest.raises(Invalid) as refused:
        file_create(room=cast.room, actor=cast.alice, path=too_long)
    assert "longer than 1024 characters once case is folded" in refused.value.message
    with pytest.raises(Invalid):
        folder_create(room=cast.room, actor=cast.alice, path=too_long)
    refused_upload = _refused(cast, "p.zip", make_zip({too_long: "x"}))
    assert "once case is folded" in refused_upload.message


def test_tar_members_with_bad_names_still_count_in_the_stream_budget(cast, settings):
    """Badly named members are listed, not skipped unread: their bytes are still counted."""
    settings.FLINT_UPLOAD_MAX_EXPANDED_BYTES = 100_000
    big = bytes(range(256)) * 400  # 102,400 bytes
    refused = _refused(cast, "p.tgz", make_tar({"bell\x07.bin": big, "ok.txt": "x"}))
    assert refused.code == "too_large" and "bell\\x07.bin" in refused.message


def test_upload_with_many_bad_names_lists_twenty_and_stops_reading(cast):
    files = {f"con{i}/aux.txt": "x" for i in range(30)} | {f"b\x07{i}": "x" for i in range(30)}
    refused = _refused(cast, "p.zip", make_zip(files))
    assert refused.message.startswith("More than 20 names in the upload cannot be used")
    assert refused.message.count("control characters") == 20
