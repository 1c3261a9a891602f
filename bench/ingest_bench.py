"""Upload ingest benchmark: 5,000 files / ~50 MB through Flint's real upload service.

Generates a project (mostly source-like text, some binary), zips it, then in a fresh
subprocess per run: (a) Flint stages and confirms the upload (SQLite in a temp data dir
by default, DATABASE_URL if set), (b) `zipfile.extractall` of the same archive to disk,
the plain comparison. Reports wall time, peak RSS of each subprocess and Flint's time as
a ratio to the extraction, and writes bench/results/ingest.json.

    .venv/bin/python bench/ingest_bench.py [--files 5000] [--mb 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = [
    "def",
    "class",
    "return",
    "import",
    "from",
    "self",
    "value",
    "result",
    "index",
    "items",
    "data",
    "while",
    "for",
    "in",
    "if",
    "else",
]


def generate(zip_path: Path, *, files: int, total_mb: int, seed: int = 7) -> dict:
    """A project of `files` files totalling about `total_mb` MB: 90% text, 10% binary."""
    rng = random.Random(seed)
    per_file = total_mb * 1024 * 1024 // files
    text_bytes = binary_bytes = 0
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for i in range(files):
            folder = f"pkg{i % 40}/mod{i % 7}"
            if i % 10 == 9:
                data = rng.randbytes(per_file)
                zf.writestr(f"{folder}/asset{i}.bin", data)
                binary_bytes += len(data)
                continue
            lines = []
            size = 0
            while size < per_file:
                line = "    " + " ".join(rng.choices(WORDS, k=rng.randint(3, 12))) + f"  # {i}\n"
                lines.append(line)
                size += len(line)
            data = "".join(lines).encode()
            zf.writestr(f"{folder}/file{i}.py", data)
            text_bytes += len(data)
    return {
        "files": files,
        "text_bytes": text_bytes,
        "binary_bytes": binary_bytes,
        "zip_bytes": zip_path.stat().st_size,
    }


FLINT_CHILD = r"""
import json, os, sys, time, resource
sys.path.insert(0, os.environ["FLINT_ROOT"])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.core.files import File
from editor.accounts.services import user_signup
from editor.rooms.services import room_create, team_create
from editor.projects.uploads import upload_confirm, upload_process, upload_start
from editor.projects.models import ProjectFile

user = user_signup(username=f"bench{os.getpid()}", password="correct horse battery staple")
team = team_create(name=f"Bench {os.getpid()}", owner=user)
room = room_create(team=team, actor=user, name="Bench")
path = sys.argv[1]
with open(path, "rb") as fh:
    upload_file = File(fh, name="project.zip")
    t0 = time.perf_counter()
    upload = upload_start(room=room, actor=user, files=[upload_file])
    if upload.background:
        # What the Celery worker runs (its task body), here in-process so that it is timed;
        # the queued message goes to the bench's private Redis and is dropped with it.
        upload_process(upload_id=str(upload.id))
    t1 = time.perf_counter()
    plan = upload_confirm(room=room, actor=user, upload_id=upload.id)
    t2 = time.perf_counter()
print(json.dumps({
    "stage_s": t1 - t0, "confirm_s": t2 - t1, "total_s": t2 - t0,
    "files": ProjectFile.objects.filter(room=room).count(), "background": upload.background,
    "added": plan["counts"]["added"],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""

EXTRACT_CHILD = r"""
import json, sys, time, zipfile, resource
t0 = time.perf_counter()
with zipfile.ZipFile(sys.argv[1]) as zf:
    zf.extractall(sys.argv[2])
t1 = time.perf_counter()
print(json.dumps({"total_s": t1 - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code: str, *args: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _baseline_rss_mb(env: dict[str, str]) -> float:
    """Peak RSS of a child that only sets Django up: subtracted to see ingest's own cost."""
    code = FLINT_CHILD.split("user = user_signup")[0] + (
        "import resource, json\n"
        "print(json.dumps({'peak_rss_mb': "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    return _child(code, env=env)["peak_rss_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from editor.core.embedded_redis import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="flint-bench-") as tmp:
        tmp_path = Path(tmp)
        redis = None
        if not os.environ.get("REDIS_URL"):  # confirm tells the room through the channel layer
            redis = EmbeddedRedis(tmp_path / "redis", persist=False)
            os.environ["REDIS_URL"] = redis.start()
        zip_path = tmp_path / "project.zip"
        project = generate(zip_path, files=args.files, total_mb=args.mb)
        print(f"generated {project}", flush=True)
        flint_runs, extract_runs = [], []
        for run in range(args.runs):
            data_dir = tmp_path / f"data{run}"
            env = {**os.environ, "FLINT_ROOT": str(ROOT), "FLINT_DATA_DIR": str(data_dir)}
            # DEBUG keeps every SQL statement (with its parameters: file text) in memory.
            env["DEBUG"] = "0"
            if run == 0:
                django_rss = _baseline_rss_mb(env)
            flint = _child(FLINT_CHILD, str(zip_path), env=env)
            extract = _child(EXTRACT_CHILD, str(zip_path), str(tmp_path / f"x{run}"), env=env)
            flint_runs.append(flint)
            extract_runs.append(extract)
            print(
                f"run {run + 1}: flint {flint['total_s']:.2f}s "
                f"(stage {flint['stage_s']:.2f}s, confirm {flint['confirm_s']:.2f}s, "
                f"peak RSS {flint['peak_rss_mb']:.0f} MB); "
                f"extractall {extract['total_s']:.2f}s",
                flush=True,
            )
        if redis is not None:
            redis.stop()
    best_flint = min(flint_runs, key=lambda r: r["total_s"])
    best_extract = min(extract_runs, key=lambda r: r["total_s"])
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "database": "postgresql" if os.environ.get("DATABASE_URL") else "sqlite",
        "project": project,
        "runs": args.runs,
        "flint": flint_runs,
        "extractall": extract_runs,
        "best": {
            "flint_s": round(best_flint["total_s"], 3),
            "flint_stage_s": round(best_flint["stage_s"], 3),
            "flint_confirm_s": round(best_flint["confirm_s"], 3),
            "extractall_s": round(best_extract["total_s"], 3),
            "ratio_flint_to_extractall": round(best_flint["total_s"] / best_extract["total_s"], 2),
            "flint_peak_rss_mb": round(max(r["peak_rss_mb"] for r in flint_runs), 1),
            "django_setup_rss_mb": round(django_rss, 1),
            "extractall_peak_rss_mb": round(max(r["peak_rss_mb"] for r in extract_runs), 1),
        },
        "goal": {"flint_s_under": 5.0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["best"], indent=2))


if __name__ == "__main__":
    main()
