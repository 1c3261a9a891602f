"""The client installs alone: a fresh virtualenv, `pip install ./editor/cli`, no Django,
and its `flint` logs in to a real daphne."""

from __future__ import annotations

import subprocess
import venv

import pytest

from tests.support.live import REPO

pytestmark = pytest.mark.live


def test_the_client_installs_into_a_fresh_venv_without_the_server(people, tmp_path):
    env_dir = tmp_path / "client-venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", str(REPO / "editor" / "cli")],
        capture_output=True, text=True, timeout=500,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    no_django = subprocess.run([python, "-c", "import django"], capture_output=True)
    assert no_django.returncode != 0  # the client did not pull in the server's dependencies
    flint = env_dir / "bin" / "flint"
    config = tmp_path / "config.json"
    env = {"FLINT_CONFIG": str(config), "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin"}
    login = subprocess.run([flint, "login", people.url, "--token", people.bob.token],
                           capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert login.returncode == 0, login.stderr
    rooms = subprocess.run([flint, "rooms", "--json"], capture_output=True, text=True, env=env,
                           timeout=60)  # fmt: skip
    assert "acme/compiler" in rooms.stdout
