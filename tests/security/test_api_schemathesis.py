"""Schemathesis fuzzes the JSON API on a real daphne: no 5xx, every answer in the schema.

The run is bounded (`--max-time`, a fixed number of examples per operation) so that CI
spends under two minutes on it. It acts as alice, the owner of a team with a room, a
file and members, so that the fuzzer reaches past the 401/404 answers into the
handlers; the fuzzer may delete rooms, revoke its own token and so on: whatever it does,
no answer may be a server error or fall outside the documented schema.

The fuzzed daphne is its own: the cap on failed token authentications is off there (the
fuzzer sends bad tokens on purpose; with the cap it would read 429s for most of its run
and leave 127.0.0.1 throttled for the tests after it: the cap has its own tests in
test_access.py), and the deep tasks it starts go to a queue no worker reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.live, pytest.mark.timeout(240)]

CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


def test_schemathesis_finds_no_server_error_or_schema_violation(
    live_processes, transactional_db, cast, tmp_path: Path
):
    from editor.accounts.tokens import token_create
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/app.py", text="print('hi')\n")
    _, raw = token_create(user=cast.alice, name="schemathesis")
    daphne = live_processes.daphne(
        env={
            "FLINT_AUTH_FAILURES_PER_MINUTE": "0",
            "FLINT_CELERY_QUEUE": f"schemathesis-{uuid.uuid4().hex[:8]}",
        }
    )
    st = Path(sys.executable).with_name("st")
    report = tmp_path / "schemathesis.txt"
    command = [
        str(st),
        "run",
        daphne.url + "api/openapi.json",
        "--header",
        f"Authorization: Bearer {raw}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        os.environ.get("FLINT_SCHEMATHESIS_EXAMPLES", "25"),
        "--max-time",
        "90",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--seed",
        "1",
        "--no-color",
    ]
    env = dict(os.environ, SCHEMATHESIS_HOOKS="", NO_COLOR="1")
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=200, env=env, check=False, cwd=tmp_path
    )
    report.write_text(done.stdout + done.stderr)
    daphne.assert_alive()
    assert done.returncode == 0, (
        f"schemathesis found problems (exit {done.returncode}):\n{done.stdout[-6000:]}"
        f"\n{done.stderr[-2000:]}"
    )
