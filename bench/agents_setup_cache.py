"""A room's set-up script: the first task runs it, the next ones start from the cache.

In-process (no Celery): the same `environments.prepared` the runner calls, for one cold
task and then `--warm` tasks with the same script and lock file, with bubblewrap. The
script builds a small environment without network: a venv and 400 byte-compiled modules.

Writes bench/results/agents_setup.json. Run: .venv/bin/python bench/agents_setup_cache.py
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SCRIPT = """python3 -m venv --without-pip /env/venv
mkdir -p /env/py/benchpkg
python3 - <<'PY'
for i in range(400):
    with open(f"/env/py/benchpkg/m{i}.py", "w") as f:
        f.write("".join(f"def f{j}(x):\\n    return x + {j}\\n" for j in range(200)))
PY
python3 -m compileall -q /env/py
cat requirements.txt
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=5)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="flint-bench-"))
    cache = Path(tempfile.mkdtemp(prefix="flint-bench-envs-"))
    cache.chmod(0o711)
    os.environ.update(FLINT_DATA_DIR=str(data), FLINT_AGENTS_ENV_CACHE_DIR=str(cache),
                      DJANGO_SETTINGS_MODULE="webapp.settings")  # fmt: skip
    import django

    django.setup()
    # No Redis here: the room events the log also sends have nowhere to go (stored anyway).
    logging.getLogger("editor.agents.progress").setLevel(logging.ERROR)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from editor.accounts.services import user_signup
    from editor.agents import environments, sandbox
    from editor.agents.models import Task
    from editor.agents.room_settings import agent_settings_set
    from editor.agents.services import snapshot_take
    from editor.rooms.services import room_create, team_create

    works, why = sandbox.probe()
    if not works:
        raise SystemExit(f"needs bubblewrap: {why}")
    alice = user_signup(username="alice", password=os.urandom(12).hex(), display_name="Alice")
    room = room_create(team=team_create(name="Bench", owner=alice), actor=alice, name="Env")
    agent_settings_set(room=room, actor=alice, setup_script=SCRIPT)
    files = {"requirements.txt": "benchpkg==1.0\n", "app.py": "print(1)\n"}

    def one() -> tuple[float, str]:
        task = Task.objects.create(room=room, created_by=alice, prompt="bench",
                                   snapshot=snapshot_take(room=room))  # fmt: skip
        started = time.perf_counter()
        with environments.prepared(task=task, commands=True, files=files,
                                   cancelled=lambda: False) as ready:  # fmt: skip
            assert ready.failure is None, ready.failure
            seconds = time.perf_counter() - started
        how = task.steps.filter(kind="setup").first().text.split("\n")[0]
        return seconds, how

    try:
        cold, how_cold = one()
        warm = [one() for _ in range(args.warm)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
    warm_s = [s for s, _ in warm]
    result = {
        "machine": f"{os.cpu_count()} CPU, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "cold_s": round(cold, 3),
        "cold_log": how_cold,
        "warm_median_s": round(statistics.median(warm_s), 3),
        "warm_max_s": round(max(warm_s), 3),
        "warm_log": warm[0][1],
        "speedup": round(cold / statistics.median(warm_s), 1),
    }
    out = REPO / "bench" / "results" / "agents_setup.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
