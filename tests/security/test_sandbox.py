"""Issue #10, items 1 and 2: what a sandboxed command can reach, and how far it can grow.

Item 1: nothing secret of the worker is reachable from inside: no process environment
(bwrap's pid 1 used to keep the worker's, at /proc/1/environ), no other process, not the
data directory with the SQLite file, the secret key and Redis's socket, not the source tree
or the virtualenv. Item 2: the command's whole process tree is bounded (memory, processes,
CPU time, disk of /work + /tmp + /dev/shm together), the model reads why it was killed, and
nothing it started outlives it. Each limit is tested with each mechanism this machine has:
`auto` (a cgroup here: root on cgroup v1) and the `watchdog` that unprivileged workers use.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest
from django.conf import settings as django_settings

from editor.agents import watchdog
from editor.agents.models import ChangeFile
from editor.agents.runner import task_run
from editor.agents.sandbox import Limits, run_command
from editor.agents.services import task_start
from editor.agents.tools import ToolBox
from editor.agents.workcopy import WorkingCopy
from editor.assist.simulator import rules_from

pytestmark = pytest.mark.usefixtures("needs_sandbox")
FILES = {"a.txt": "alpha\n"}
CANARY = "flint-canary-" + uuid.uuid4().hex


@pytest.fixture
def secrets_in_env(monkeypatch):
    """The worker's environment as docker-compose gives it: secrets included."""
    for name in ("OPENAI_API_KEY", "SECRET_KEY", "DATABASE_URL", "FLINT_DEEP_MODEL_API_KEY"):
        monkeypatch.setenv(name, f"{name}={CANARY}")
    return CANARY


@pytest.fixture(params=["auto", "watchdog"])
def mechanism(request, settings):
    settings.FLINT_AGENTS_SANDBOX_LIMITS = request.param
    return watchdog.mechanism()


def small(**overrides) -> Limits:
    values = dict(
        timeout_s=20, cpu_s=20, memory_mb=256, processes=32, file_mb=64, output_bytes=65536
    )
    values.update(overrides)
    return Limits(**values)


def sh(command: str, **limits) -> str:
    return run_command(command=command, files=FILES, limits=small(**limits)).output


# --- item 1: nothing secret is reachable ------------------------------------------------


def test_sandbox_cannot_read_worker_environment_via_proc_1_environ(secrets_in_env):
    out = sh("tr '\\0' '\\n' </proc/1/environ; echo ---; tr '\\0' '\\n' </proc/self/environ")

    assert secrets_in_env not in out
    assert "---" in out and "PATH=/usr/local/bin" in out  # the reads worked: own env only
    assert "OPENAI_API_KEY" not in out


def test_sandbox_cannot_read_any_processes_environ_or_cmdline(secrets_in_env):
    out = sh(
        "for p in /proc/[0-9]*; do echo \"== $p\"; tr '\\0' ' ' <$p/environ; "
        "tr '\\0' ' ' <$p/cmdline; echo; done"
    )

    assert secrets_in_env not in out
    assert "== /proc/1" in out  # it did look


def test_sandbox_sees_only_its_own_processes_in_proc():
    out = sh("for p in /proc/[0-9]*; do echo \"$p $(tr '\\0' ' ' <$p/cmdline)\"; done")

    pids = [line.split()[0] for line in out.splitlines() if line.startswith("/proc/")]
    assert 1 <= len(pids) <= 5, out  # bwrap's init, the shell, its loop: nothing else
    assert "pytest" not in out and "celery" not in out and "daphne" not in out
    assert "redis" not in out and sys.executable not in out


CONNECT = """import socket, sys
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path); print('CONNECTED', path)
    except OSError as e:
        print('refused', e)
"""


def test_sandbox_cannot_reach_data_dir_sqlite_secret_key_or_redis_socket():
    data = Path(django_settings.DATA_DIR)
    planted = data / f"planted-{uuid.uuid4().hex}"  # whatever else the data dir may hold
    planted.write_text(CANARY)
    paths = [data, planted, data / "secret_key", Path(django_settings.EMBEDDED_REDIS_SOCKET)]
    database = django_settings.DATABASES["default"]
    if "sqlite" in database["ENGINE"]:
        paths.append(Path(database["NAME"]))
    if django_settings.REDIS_URL.startswith("unix://"):
        paths.append(Path(django_settings.REDIS_URL.removeprefix("unix://").split("?")[0]))
    secret = (data / "secret_key").read_text() if (data / "secret_key").exists() else None

    try:
        out = sh("".join(f"ls -la {p}; cat {p}; " for p in paths) + "echo done")
        sockets = " ".join(str(p) for p in paths if p.name.endswith(".sock"))
        socket_out = sh(f'python3 -c "{CONNECT}" {sockets}')
    finally:
        planted.unlink()

    assert out.count("No such file or directory") == 2 * len(paths), out
    assert CANARY not in out and (secret is None or secret not in out)
    assert "SQLite format" not in out
    assert "CONNECTED" not in socket_out and "refused" in socket_out


def test_sandbox_cannot_read_the_source_tree_or_the_virtualenv():
    base = Path(django_settings.BASE_DIR)
    paths = [base / "manage.py", base / "webapp" / "settings.py", base / "editor"]
    paths += [Path(sys.prefix) / "pyvenv.cfg", Path(sys.executable)]
    paths += [Path(p) for p in sys.path if p.endswith("site-packages")]
    assert all(p.exists() for p in paths)

    out = sh("".join(f"ls -d {p}; " for p in paths) + "python3 -c 'import django' 2>&1")

    assert out.count("No such file or directory") == len(paths), out
    assert "ModuleNotFoundError" in out  # the worker's packages are not importable either


def test_worker_paths_a_read_only_bind_would_show_are_hidden(settings):
    """A data dir (or source tree, or venv) under /usr, as images often have them."""
    hidden = Path("/usr/share/doc")  # stands in: it exists and is under the /usr bind
    assert any(hidden.iterdir())
    settings.DATA_DIR = hidden

    out = sh("echo files: $(ls -A /usr/share/doc | wc -l); ls -A /usr/local/etc | wc -l; ls /usr")

    assert "files: 0" in out
    assert out.splitlines()[1] == "0"  # /usr/local/etc: host configuration, never shown
    assert "bin" in out.splitlines()[2:]  # the rest of /usr is there


def test_host_tmp_dev_shm_and_the_work_dirs_parent_are_not_shared():
    with tempfile.NamedTemporaryFile(prefix="flint-host-marker-") as host_tmp:
        shm = Path("/dev/shm") / f"flint-host-marker-{uuid.uuid4().hex}"
        shm.write_text("host")
        try:
            out = sh(
                "ls -A /tmp /dev/shm /work/.. /; echo x > /escaped || echo root-ro; "
                "echo x > /dev/escaped || echo dev-ro; echo ok > /tmp/t && echo tmp-ok"
            )
        finally:
            shm.unlink()

    assert Path(host_tmp.name).name not in out and shm.name not in out
    assert "flint-sandbox-" not in out.replace("/tmp/flint-sandbox-", "")
    assert "root-ro" in out and "dev-ro" in out and "tmp-ok" in out


def _scripted(model, marker: str, calls: list[dict]) -> None:
    turns = [{"tool_calls": [call]} for call in calls]
    turns.append({"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]})
    model.simulator.rules = rules_from(
        [{"marker": marker, "turn": i, **turn} for i, turn in enumerate(turns)]
    )


@pytest.fixture
def _in_process(settings):
    """Enqueued runs wait on a queue no worker reads: this module runs them in-process."""
    settings.FLINT_AGENTS_QUEUE = f"agents-unread-{uuid.uuid4().hex[:8]}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_in_process")
def test_deep_task_dumping_the_environment_leaks_no_secret_into_its_changes(
    cast,
    tiers,
    simulator,
    secrets_in_env,
):
    dump = (
        "tr '\\0' '\\n' </proc/1/environ > leak.txt; env >> leak.txt; "
        "for f in /proc/*/environ; do tr '\\0' '\\n' <$f; done >> leak.txt; echo end >> leak.txt"
    )
    _scripted(simulator, "leak-env", [{"name": "run_command", "arguments": {"command": dump}}])
    (task,) = task_start(room=cast.room, actor=cast.bob, prompt="leak-env")

    assert task_run(task_id=task.pk) == "succeeded"

    leak = ChangeFile.objects.get(task=task, path="leak.txt").proposed_text
    assert "PATH=" in leak and leak.endswith("end\n")  # the dump ran
    assert secrets_in_env not in leak
    for change in ChangeFile.objects.filter(task=task):
        assert secrets_in_env not in (change.proposed_text or "")


# --- item 2: the whole command is bounded -------------------------------------------------


def hog(mb: int) -> str:
    return f"python3 -c 'b = bytearray({mb} << 20); import time; time.sleep(20)'"


HOG = hog(120)  # each of three is under the 256 MB per-process cap, together over it


def test_three_processes_over_the_memory_limit_together_are_killed(mechanism):
    started = time.monotonic()
    result = run_command(
        command=f"{HOG} & {HOG} & {HOG} & wait; echo never", files=FILES, limits=small()
    )

    assert result.killed == "killed: the command used more than 256 MB of memory", mechanism
    assert "never" not in result.output
    assert time.monotonic() - started < 10
    assert _all_gone()


def test_a_fork_bomb_is_bounded_at_the_process_limit(mechanism):
    started = time.monotonic()
    result = run_command(
        command="bomb() { bomb | bomb & }; bomb; sleep 2; echo done",
        files=FILES,
        limits=small(timeout_s=8),
    )

    if mechanism.startswith("cgroup"):
        assert result.killed == "killed: the command used more than 32 processes"
    else:  # RLIMIT_NPROC of the command's own uid refuses the forks; the bomb dies out
        assert "Cannot fork" in result.output or result.killed
    assert time.monotonic() - started < 8
    assert _all_gone()
    assert subprocess.run(["true"], check=False).returncode == 0  # the worker can still fork


def test_process_limit_is_per_command_not_per_worker(mechanism):
    """Two commands each holding most of the limit at once both run."""
    many = "i=0; while [ $i -lt 24 ]; do sleep 2 & i=$((i+1)); done; echo spawned $i; id -u; wait"
    results: list = []
    threads = [
        threading.Thread(target=lambda: results.append(run_command(
            command=many, files=FILES, limits=small(timeout_s=15))))
        for _ in range(2)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r.killed for r in results] == ["", ""]
    assert all("spawned 24" in r.output for r in results), [r.output for r in results]
    if os.geteuid() == 0:  # each command its own uid
        assert len({r.output.split()[-1] for r in results}) == 2


def test_writing_to_work_and_tmp_together_over_the_disk_limit_is_killed(mechanism):
    result = run_command(
        command="head -c 40000000 /dev/zero > big; head -c 40000000 /dev/zero > /tmp/big; "
        "head -c 40000000 /dev/zero > /dev/shm/big; sleep 5; echo never",
        files=FILES,
        limits=small(disk_mb=64),
    )

    assert result.killed == "killed: the command used more than 64 MB of disk"
    assert "never" not in result.output and "big" not in result.changed


def test_a_flood_of_empty_files_counts_as_disk(mechanism):
    result = run_command(
        command="mkdir d && cd d && i=0; while [ $i -lt 20000 ]; do : > f$i; i=$((i+1)); done; "
        "sleep 5; echo never",
        files=FILES,
        limits=small(disk_mb=16),
    )

    assert result.killed == "killed: the command used more than 16 MB of disk"


def test_cpu_time_of_the_whole_tree_is_bounded(mechanism):
    spin = "python3 -c 'while True: pass'"
    result = run_command(
        command=f"{spin} & {spin} & {spin} & wait", files=FILES, limits=small(cpu_s=2)
    )

    assert result.killed == "killed: the command used more than 2 s of CPU time"
    assert _all_gone()


@pytest.mark.parametrize("ending", ["exits", "is killed"])
def test_nothing_the_command_started_outlives_it(mechanism, ending):
    marker = 1000 + int(uuid.uuid4().int % 1000)  # this run's own sleep
    tail = f" & {HOG} & {HOG} & {HOG} & wait" if ending == "is killed" else ""
    run_command(
        command=f"setsid sleep {marker} & (setsid sh -c 'nohup sleep {marker} &' &); "
        f"sleep 0.5; echo started{tail}",
        files=FILES,
        limits=small(),
    )

    assert _all_gone(f"sleep {marker}")


def test_the_model_reads_why_its_command_was_killed_and_the_task_goes_on(settings, mechanism):
    settings.FLINT_AGENTS_COMMAND_MEMORY_MB = 128
    settings.FLINT_AGENTS_COMMAND_DISK_MB = 1024
    tools = ToolBox(WorkingCopy(base=dict(FILES)), commands=True)

    many = f"echo x > out.txt; {hog(60)} & {hog(60)} & {hog(60)} & wait"
    killed = tools.call("run_command", {"command": many})
    after = tools.call("run_command", {"command": "cat a.txt"})

    assert killed.content.startswith("killed: the command used more than 128 MB of memory")
    assert killed.short.startswith("killed: the command used more than 128 MB")
    assert after.content.startswith("exit code 0\nalpha")
    assert tools.copy.files["out.txt"] == "x\n"  # what it wrote before is kept


def _all_gone(pattern: str = "", within: float = 3.0) -> bool:
    """No process of a sandbox is left on the host (they die just after bwrap: wait a bit)."""
    deadline = time.monotonic() + within
    while _left(pattern):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _left(pattern: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status", "uids"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
            continue
        cmd = " ".join(proc.info["cmdline"] or [])
        if pattern:
            ours = pattern in cmd
        else:  # a sandbox of these tests (other sandboxes may run on this machine)
            first = int(django_settings.FLINT_AGENTS_SANDBOX_UID)
            ours = os.geteuid() != 0 or first <= proc.info["uids"].real < first + 64
            ours = ours and (
                "bwrap" in cmd or "bytearray(" in cmd or "bomb" in cmd or "while True" in cmd
            )
        if ours:
            found.append(proc)
    return found
