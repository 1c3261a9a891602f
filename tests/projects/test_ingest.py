# ruff: noqa: E501 - the table of malicious archives reads best one case per line
"""Every bad archive is refused with a message naming the problem and the path, and the
project, its blobs and the staging area are exactly as they were before."""

from __future__ import annotations

import io
import tarfile
import unicodedata
import zipfile

import pytest

from editor.core.errors import Invalid
from editor.projects.models import ProjectFile, Upload
from editor.projects.uploads import upload_start
from tests.projects.helpers import archive, make_tar, make_zip, tar_member, zip_with_info

BASELINE = {"src/main.py": "print('kept')\n", "logo.bin": bytes(range(256)) * 64}


def _zip_entry(name: str, data: bytes = b"x", *, mode: int | None = None) -> tuple:
    info = zipfile.ZipInfo(name)
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    return info, data


def _patched_zip(placeholder: bytes, replacement: bytes, files: dict[str, bytes]) -> bytes:
    """A zip whose names are rewritten byte for byte (in local and central headers)."""
    data = make_zip(files)
    assert data.count(placeholder) == 2
    return data.replace(placeholder, replacement)


def _gnu_tar_raw_name(raw_name: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT, errors="surrogateescape"
    ) as tf:
        info = tarfile.TarInfo(raw_name)
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


def _zip_lying_size() -> bytes:
    """Headers claim 10 bytes; the deflated data holds 5,000."""
    data = bytearray(make_zip({"liar.txt": b"A" * 5000}))
    real = (5000).to_bytes(4, "little")
    lie = (10).to_bytes(4, "little")
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    assert data[local + 22 : local + 26] == real and data[central + 24 : central + 28] == real
    data[local + 22 : local + 26] = lie
    data[central + 24 : central + 28] = lie
    return bytes(data)


ZEROS = b"\x00" * (30 * 1024 * 1024)

# (id, file name, archive bytes builder, fragments the message must contain)
CASES = [
    ("zip-dotdot", "p.zip", lambda: make_zip({"../evil.py": "x"}), ["../evil.py", "climbs"]),
    ("tar-dotdot", "p.tar.gz", lambda: make_tar({"src/../../evil.py": "x"}), ["evil.py", "climbs"]),
    ("zip-absolute", "p.zip", lambda: zip_with_info([_zip_entry("/etc/passwd")]), ["/etc/passwd", "absolute"]),
    ("tar-absolute", "p.tgz", lambda: make_tar({"/etc/passwd": "x"}), ["/etc/passwd", "absolute"]),
    ("zip-drive", "p.zip", lambda: zip_with_info([_zip_entry("C:/Windows/evil.dll")]), ["C:/Windows/evil.dll", "absolute"]),
    ("tar-drive", "p.tar", lambda: make_tar({"C:/evil.dll": "x"}, gz=False), ["C:/evil.dll", "absolute"]),
    ("zip-backslash", "p.zip", lambda: zip_with_info([_zip_entry("..\\..\\evil.py")]), ["evil.py", "climbs"]),
    ("tar-backslash", "p.tgz", lambda: make_tar({"a\\..\\..\\evil.py": "x"}), ["evil.py", "climbs"]),
    ("zip-symlink", "p.zip", lambda: zip_with_info([_zip_entry("link", b"/etc/passwd", mode=0o120777)]), ["link", "symbolic link"]),
    ("tar-symlink", "p.tgz", lambda: make_tar({}, extra=[tar_member("link", tarfile.SYMTYPE, linkname="/etc/passwd")]), ["link", "symbolic link"]),
    ("tar-hardlink", "p.tgz", lambda: make_tar({"a.txt": "x"}, extra=[tar_member("hard", tarfile.LNKTYPE, linkname="a.txt")]), ["hard", "hard link"]),
    ("tar-device", "p.tgz", lambda: make_tar({}, extra=[tar_member("dev/null", tarfile.CHRTYPE)]), ["dev/null", "device"]),
    ("tar-blockdev", "p.tar", lambda: make_tar({}, gz=False, extra=[tar_member("sda", tarfile.BLKTYPE)]), ["sda", "device"]),
    ("tar-fifo", "p.tgz", lambda: make_tar({}, extra=[tar_member("pipe", tarfile.FIFOTYPE)]), ["pipe", "FIFO"]),
    ("zip-fifo", "p.zip", lambda: zip_with_info([_zip_entry("pipe", mode=0o010644)]), ["pipe", "FIFO"]),
    ("zip-device", "p.zip", lambda: zip_with_info([_zip_entry("dev/tty", mode=0o020644)]), ["dev/tty", "device"]),
    ("zip-bomb", "p.zip", lambda: make_zip({"bomb.bin": ZEROS}), ["bomb.bin", "zip bomb"]),
    ("tar-bomb", "p.tar.gz", lambda: make_tar({"a.txt": "x", "bomb.bin": ZEROS, "z.txt": "z"}), ["zip bomb"]),
    ("zip-duplicate", "p.zip", lambda: zip_with_info([_zip_entry("a.py"), _zip_entry("a.py")]), ["a.py", "twice"]),
    ("tar-duplicate", "p.tgz", lambda: make_tar({"a.py": "1", "./a.py": "2"}), ["a.py", "twice"]),
    ("zip-case-duplicate", "p.zip", lambda: make_zip({"README.md": "1", "readme.md": "2"}), ["README.md", "readme.md"]),
    ("tar-nfc-duplicate", "p.tgz", lambda: make_tar({unicodedata.normalize("NFC", "café.txt"): "1", unicodedata.normalize("NFD", "café.txt"): "2"}), ["café.txt", "twice"]),
    ("zip-bad-utf8", "p.zip", lambda: _patched_zip(b"bad#name", b"bad\xffname", {"bad#name.py": b"x"}), ["bad\\xffname.py", "UTF-8"]),
    ("tar-bad-utf8", "p.tgz", lambda: _gnu_tar_raw_name("bad\udcffname.py"), ["bad\\xffname.py", "UTF-8"]),
    ("zip-control", "p.zip", lambda: make_zip({"bell\x07.py": "x"}), ["bell\\x07.py", "control"]),
    ("tar-control", "p.tgz", lambda: make_tar({"new\nline.py": "x"}), ["new\\x0aline.py", "control"]),
    ("zip-truncated", "p.zip", lambda: make_zip({"a.txt": "a" * 5000, "b.bin": bytes(range(256)) * 200})[:-400], ["p.zip", "corrupt"]),
    ("tar-truncated", "p.tar.gz", lambda: make_tar({"a.txt": "a" * 5000, "b.bin": bytes(range(256)) * 200})[:300], ["p.tar.gz", "corrupt"]),
    ("plain-tar-truncated", "p.tar", lambda: make_tar({"a.bin": bytes(range(256)) * 40}, gz=False)[:3000], ["p.tar", "corrupt"]),
    ("zip-is-gzip", "p.zip", lambda: make_tar({"a.txt": "x"}), ["p.zip", "not a zip archive", "gzip"]),
    ("tgz-is-zip", "p.tgz", lambda: make_zip({"a.txt": "x"}), ["p.tgz", "not a tar.gz archive", "zip"]),
    ("tar-is-text", "p.tar", lambda: b"just some text\n" * 50, ["p.tar", "not a tar archive", "text"]),
    ("zip-lying-header", "p.zip", _zip_lying_size, ["liar.txt"]),
    ("gzip-not-tar", "p.tar.gz", lambda: __import__("gzip").compress(b"not a tar at all" * 100), ["p.tar.gz", "corrupt"]),
]  # fmt: skip


@pytest.fixture
def baseline(cast, ingest, project_snapshot):
    ingest("base.zip", make_zip(BASELINE))
    return project_snapshot()


@pytest.mark.parametrize(
    ("name", "builder", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_archive_is_refused_and_nothing_is_written(
    cast, baseline, project_snapshot, name, builder, fragments
):
    data = builder()
    with pytest.raises(Invalid) as refused:
        upload_start(room=cast.room, actor=cast.alice, files=[archive(name, data)])
    for fragment in fragments:
        assert fragment in refused.value.message, refused.value.message
    assert project_snapshot() == baseline
    assert not Upload.objects.exclude(status="applied").exists()
    assert sorted(ProjectFile.objects.filter(room=cast.room).values_list("path", flat=True)) == [
        "logo.bin",
        "src/main.py",
    ]


def test_lying_header_is_refused_by_counting_real_bytes(cast, settings, baseline, project_snapshot):
    settings.FLINT_UPLOAD_MAX_EXPANDED_BYTES = 1000
    with pytest.raises(Invalid) as refused:
        upload_start(room=cast.room, actor=cast.alice, files=[archive("p.zip", _zip_lying_size())])
    assert "liar.txt" in refused.value.message
    assert project_snapshot() == baseline


def test_expanded_size_limit_counts_bytes_read(cast, settings, baseline, project_snapshot):
    settings.FLINT_UPLOAD_MAX_EXPANDED_BYTES = 10_000
    data = make_zip({"a.bin": bytes(range(256)) * 30, "b.bin": bytes(range(256)) * 30})
    with pytest.raises(Invalid) as refused:
        upload_start(room=cast.room, actor=cast.alice, files=[archive("p.zip", data)])
    assert refused.value.code == "too_large"
    assert "expands to" in refused.value.message
    assert project_snapshot() == baseline


def test_expanded_limit_on_a_tar_stream_refuses_at_the_header(
    cast, settings, baseline, project_snapshot
):
    settings.FLINT_UPLOAD_MAX_EXPANDED_BYTES = 10_000
    data = make_tar({"small.txt": "x", "big.bin": bytes(range(256)) * 100})
    with pytest.raises(Invalid) as refused:
        upload_start(room=cast.room, actor=cast.alice, files=[archive("p.tgz", data)])
    assert "big.bin" in refused.value.message
    assert project_snapshot() == baseline


@pytest.mark.parametrize("fmt", ["zip", "tgz"])
def test_too_many_files(cast, settings, baseline, project_snapshot, fmt):
    settings.FLINT_UPLOAD_MAX_FILES = 3
    files = {f"f{i}.txt": str(i) for i in range(4)}
    data = make_zip(files) if fmt == "zip" else make_tar(files)
    with pytest.raises(Invalid) as refused:
        upload_start(room=cast.room, actor=cast.alice, files=[archive(f"p.{fmt}", data)])
    assert "4 files" in refused.value.message and "at most 3" in refused.value.message
    assert project_snapshot() == baseline


def test_compressed_size_limit(cast, settings, baseline, project_snapshot):
    settings.FLINT_UPLOAD_MAX_BYTES = 100
    with pytest.raises(Invalid) as refused:
        upload_start(
            room=cast.room, actor=cast.alice, files=[archive("p.zip", make_zip({"a": "b" * 500}))]
        )
    assert "at most 100 bytes" in refused.value.message
    assert project_snapshot() == baseline


def test_file_and_folder_with_one_name_is_refused(cast, baseline, project_snapshot):
    with pytest.raises(Invalid) as refused:
        upload_start(
            room=cast.room,
            actor=cast.alice,
            files=[archive("p.zip", make_zip({"docs": "file", "docs/a.md": "folder"}))],
        )
    assert "docs is both a file and a folder" in refused.value.message
    assert project_snapshot() == baseline


def test_failure_late_in_the_stream_removes_blobs_it_wrote(cast, baseline, project_snapshot):
    """Binary files before the broken member were stored; the refusal collects them again."""
    good = {f"bin{i}.dat": bytes([i]) * 3000 + bytes(range(256)) for i in range(5)}
    noise = __import__("random").Random(1).randbytes(20000)  # deflate cannot shrink it
    data = make_zip({**good, "z/last.txt": noise})
    cut = data.rfind(b"PK\x01\x02")  # corrupt the last member's data, keep the directory
    broken = bytearray(data)
    last = data.rfind(b"PK\x03\x04", 0, cut)
    broken[last + 200 : last + 230] = b"\xff" * 30
    with pytest.raises(Invalid) as refused:
        upload_start(room=cast.room, actor=cast.alice, files=[archive("p.zip", bytes(broken))])
    assert "z/last.txt" in refused.value.message
    assert project_snapshot() == baseline


def test_nested_archive_is_stored_as_a_binary_file(cast, ingest):
    inner = make_zip({"../../evil.py": "never expanded"})
    plan = ingest(
        "outer.zip", make_zip({"vendor/inner.zip": inner, "inner.tar.gz": make_tar({"x": "y"})})
    )
    assert plan["counts"]["added"] == 2
    stored = ProjectFile.objects.get(room=cast.room, path="vendor/inner.zip")
    assert stored.kind == "binary" and not stored.editable and stored.size == len(inner)
    assert not ProjectFile.objects.filter(path__contains="evil").exists()


def test_dot_slash_prefixes_and_explicit_folders_are_normal(cast, ingest):
    data = make_tar({"./pkg/__init__.py": "", "./pkg/mod.py": "x = 1\n"})
    ingest("p.tgz", data)
    paths = set(ProjectFile.objects.filter(room=cast.room).values_list("path", flat=True))
    assert paths == {"pkg/__init__.py", "pkg/mod.py"}


def test_text_binary_and_oversize_kinds(cast, settings, ingest):
    settings.FLINT_EDITABLE_MAX_BYTES = 1000
    ingest(
        "p.zip",
        make_zip(
            {
                "small.py": "ok = True\n",
                "big.txt": "é" * 2000,
                "blob.bin": b"\x00\x01\x02" * 100,
                "latin1.txt": "caf\xe9".encode("latin-1"),
            }
        ),
    )
    kinds = {
        f.path: (f.kind, f.editable, f.text is not None, bool(f.blob))
        for f in ProjectFile.objects.filter(room=cast.room)
    }
    assert kinds == {
        "small.py": ("text", True, True, False),
        "big.txt": ("text", False, False, True),
        "blob.bin": ("binary", False, False, True),
        "latin1.txt": ("binary", False, False, True),
    }
