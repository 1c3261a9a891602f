"""login/whoami/logout, rooms/teams/room create, push and pull: the real command, a real server."""

from __future__ import annotations

import os
import stat

import pytest

from editor.projects.models import ProjectFile
from editor.projects.selectors import file_text_current
from editor.projects.services import file_create, file_write

pytestmark = pytest.mark.live


def test_login_keeps_the_token_readable_by_its_owner_only(people):
    config = people.alice.config
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert people.alice.token not in people.alice.run("whoami").stdout
    me = people.alice.run("whoami", "--json").json()
    assert me["username"] == "alice"
    assert people.alice.run("logout").code == 0
    assert not config.exists()
    refused = people.alice.run("whoami")
    assert refused.code == 3
    assert "flint login" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_login_reads_the_token_without_echo_and_refuses_a_bad_one(people, tmp_path):
    from tests.cli.conftest import Terminal

    fresh = Terminal(tmp_path / "fresh" / "config.json")
    result = fresh.run("login", people.url, input=people.bob.token + "\n")
    assert result.code == 0, result.stderr
    assert "profile" in result.stderr  # where to make a token
    assert people.bob.token not in result.stdout + result.stderr
    assert fresh.run("whoami", "--json").json()["username"] == "bob"
    bad = Terminal(tmp_path / "bad" / "config.json").run("login", people.url, "--token", "nope")
    assert bad.code == 3
    assert bad.stderr.count("\n") == 1 and "token" in bad.stderr.lower()


def test_an_unreachable_server_is_a_server_failure_in_one_line(people, tmp_path):
    from tests.cli.conftest import Terminal
    from tests.support.live import free_port

    result = Terminal(tmp_path / "x.json").run(
        "login", f"http://127.0.0.1:{free_port()}", "--token", "flint_x"
    )
    assert result.code == 4
    assert "Cannot reach" in result.stderr and "Traceback" not in result.stderr


def test_rooms_teams_and_room_create(people):
    rooms = people.alice.run("rooms", "--json").json()
    assert [(r["ref"], r["role"]) for r in rooms] == [("acme/compiler", "admin")]
    teams = people.bob.run("teams", "--json").json()
    assert [(t["slug"], t["role"]) for t in teams] == [("acme", "member")]
    created = people.bob.run("room", "create", "acme", "Parser Lab", "--json")
    assert created.code == 0, created.stderr
    assert created.json()["ref"] == "acme/parser-lab"
    assert "acme/parser-lab" in people.bob.run("rooms").stdout
    outsider = people.mallory.run("room", "create", "acme", "Sneaky")
    assert outsider.code == 3  # not in that team: no such team among hers
    duplicate = people.bob.run("room", "create", "acme", "Parser Lab")
    assert duplicate.code == 3 and "already" in duplicate.stderr
    assert people.carol.run("pull", "--room", "globex/secret", "x").code == 3


def test_push_respects_ignores_shows_the_plan_and_applies(people, tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("print('v1')\n")
    (project / "README.md").write_text("# App\n")
    (project / ".gitignore").write_text("build/\n*.log\n")
    (project / ".flintignore").write_text("secrets.txt\n")
    (project / "build").mkdir()
    (project / "build" / "out.bin").write_bytes(b"\x00" * 10)
    (project / "debug.log").write_text("noise")
    (project / "secrets.txt").write_text("hunter2")
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: main")

    refused = people.bob.run("push", str(project), "--room", "acme/compiler")
    assert refused.code == 2 and "--yes" in refused.stderr  # not a terminal: asks for --yes
    result = people.bob.run("push", str(project), "--room", "acme/compiler", "--yes", "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["applied"] is True
    assert report["plan"]["added"] == 4  # src/app.py, README.md, .gitignore, .flintignore
    assert report["plan"]["skipped"] >= 4
    paths = set(ProjectFile.objects.filter(room=people.room).values_list("path", flat=True))
    assert paths == {"src/app.py", "README.md", ".gitignore", ".flintignore"}

    (project / "src" / "app.py").write_text("print('v2')\n")
    again = people.bob.run("push", str(project), "--room", str(people.room.pk), "--yes")
    assert again.code == 0, again.stderr
    assert "changed   1" in again.stdout and "unchanged 3" in again.stdout
    app = ProjectFile.objects.get(room=people.room, path="src/app.py")
    assert file_text_current(app) == "print('v2')\n"
    nothing = people.bob.run("push", str(project), "--room", "acme/compiler", "--yes")
    assert nothing.code == 0 and "Nothing to push" in nothing.stdout

    (project / "README.md").write_text("# App, by carol\n")
    viewer = people.carol.run("push", str(project), "--room", "acme/compiler", "--yes")
    assert viewer.code == 3 and viewer.stderr.strip().count("\n") == 0


def test_pull_writes_only_the_files_that_differ(people, tmp_path):
    app = file_create(room=people.room, actor=people.cast.alice, path="src/app.py", text="a\n")
    file_create(room=people.room, actor=people.cast.alice, path="README.md", text="# R\n")
    target = tmp_path / "copy"
    first = people.bob.run("pull", "--room", "acme/compiler", str(target), "--json").json()
    assert sorted(first["written"]) == ["README.md", "src/app.py"]
    assert (target / "src" / "app.py").read_text() == "a\n"
    readme_mtime = (target / "README.md").stat().st_mtime_ns
    file_write(room=people.room, actor=people.cast.alice, file_id=app.pk, text="b\n")
    second = people.bob.run("pull", "--room", "acme/compiler", str(target), "--json").json()
    assert second == {"room": people.room.pk, "written": ["src/app.py"],
                      "unchanged": ["README.md"]}  # fmt: skip
    assert (target / "src" / "app.py").read_text() == "b\n"
    assert (target / "README.md").stat().st_mtime_ns == readme_mtime
