"""editor/agents/sandbox.py: commands run in bubblewrap, and every escape attempt fails.

Network tests aim only at loopback and at 1.1.1.1 from inside a namespace that has no
route at all: nothing here ever reaches a real external host.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import psutil
import pytest

from editor.agents import sandbox
from editor.agents.sandbox import Limits, run_command
from editor.agents.tools import ToolBox
from editor.agents.workcopy import WorkingCopy

pytestmark = pytest.mark.usefixtures("needs_sandbox")
FILES = {"a.txt": "alpha\n", "src/b.py": "print('b')\n"}


def tight() -> Limits:
    return Limits(timeout_s=10, cpu_s=10, memory_mb=512, processes=64, file_mb=4, output_bytes=4096)


def test_a_command_sees_the_project_and_its_changes_come_back():
    result = run_command(
        command="cat a.txt && sed -i s/alpha/ALPHA/ a.txt && echo new > c.txt && rm src/b.py",
        files=FILES,
        limits=tight(),
    )

    assert result.exit_code == 0
    assert "alpha" in result.output
    assert result.changed == {"a.txt": "ALPHA\n", "c.txt": "new\n", "src/b.py": None}


def test_secrets_of_the_host_are_not_there():
    home = os.path.expanduser("~")
    result = run_command(
        command=f"cat /etc/shadow; ls {home}/.ssh; cat {home}/.ssh/id_rsa; ls /etc; "
        "ls /data /work/.. 2>&1; id -u",
        files=FILES,
        limits=tight(),
    )

    assert "root:" not in result.output
    assert "No such file" in result.output
    assert "shadow" not in result.output.split("No such file")[-1]
    if os.geteuid() == 0:  # commands never run as root
        assert result.output.strip().splitlines()[-1] != "0"


def test_writes_outside_the_work_dir_fail_and_leave_the_host_alone(tmp_path):
    marker = tmp_path / "escaped"
    result = run_command(
        command=f"echo x > /usr/escaped; echo x > {marker}; echo x > ../escaped; "
        "echo x > /tmp/scratch; echo done",
        files=FILES,
        limits=tight(),
    )

    assert "Read-only file system" in result.output
    assert not marker.exists() and not os.path.exists("/usr/escaped")
    assert set(result.changed) == set()  # /tmp is the sandbox's own, thrown away


def test_no_network_not_even_to_flint_on_loopback():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        script = (
            "import socket\n"
            "for host, port in (('127.0.0.1', %d), ('1.1.1.1', 80)):\n"
            "    s = socket.socket(); s.settimeout(2)\n"
            "    try:\n"
            "        s.connect((host, port)); print('CONNECTED', host)\n"
            "    except OSError as e:\n"
            "        print('refused', host, e)\n"
        ).replace("%d", str(port))
        result = run_command(
            command=f'python3 -c "{script}"; curl -sS -m 3 http://127.0.0.1:{port}/ 2>&1; true',
            files=FILES,
            limits=tight(),
        )
    finally:
        listener.close()

    assert "CONNECTED" not in result.output
    assert "refused 127.0.0.1" in result.output and "refused 1.1.1.1" in result.output
    assert "Couldn't connect" in result.output  # curl too
    assert not accepted


def test_a_fork_bomb_is_bounded_by_the_process_limit():
    started = time.monotonic()
    result = run_command(
        command="bomb() { bomb | bomb & }; bomb; sleep 1; echo done",
        files=FILES,
        limits=Limits(
            timeout_s=8, cpu_s=10, memory_mb=512, processes=32, file_mb=4, output_bytes=4096
        ),
    )

    assert "Cannot fork" in result.output  # RLIMIT_NPROC said no
    assert time.monotonic() - started < 15
    assert _all_gone()  # everything it forked is gone


def test_filling_the_disk_is_bounded_by_the_file_size_limit():
    result = run_command(
        command="head -c 100000000 /dev/urandom > big; ls -l big; echo after",
        files=FILES,
        limits=tight(),
    )

    assert "File size limit exceeded" in result.output
    assert "big" not in result.changed  # binary (and bounded) output is not folded back


def test_symlinks_to_host_files_are_not_folded_back():
    result = run_command(
        command="ln -s /etc/hostname leak.txt; ln -s / root", files=FILES, limits=tight()
    )

    assert "leak.txt" not in result.changed
    assert any("leak.txt" in s for s in result.skipped)


def _all_gone(within: float = 2.0) -> bool:
    """The sandbox's inner processes die just after bwrap (parent-death signal): wait a bit."""
    deadline = time.monotonic() + within
    while _sandbox_processes():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _sandbox_processes() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmd = " ".join(proc.info["cmdline"] or [])
        ours = ("bwrap" in cmd and "--unshare-all" in cmd) or "sleep 30" in cmd or "bomb" in cmd
        if ours and proc.pid != os.getpid():
            found.append(proc)
    return found


def test_the_wall_clock_limit_kills_the_whole_sandbox():
    started = time.monotonic()
    result = run_command(
        command="sleep 30 & sleep 30; echo never",
        files=FILES,
        limits=Limits(
            timeout_s=1, cpu_s=10, memory_mb=512, processes=64, file_mb=4, output_bytes=4096
        ),
    )

    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 4
    assert "never" not in result.output
    assert _all_gone()


def test_cancelling_kills_the_command_at_once():
    flag = threading.Event()
    threading.Timer(0.5, flag.set).start()
    started = time.monotonic()

    result = run_command(command="sleep 30", files=FILES, cancelled=flag.is_set, limits=tight())

    assert result.cancelled
    assert time.monotonic() - started < 1.5
    assert _all_gone()


def test_output_is_truncated():
    result = run_command(command="yes flint | head -c 100000", files=FILES, limits=tight())

    assert result.truncated and len(result.output) == 4096


def test_without_a_sandbox_run_command_is_not_offered(monkeypatch):
    monkeypatch.setattr(sandbox, "_probe", (False, "bubblewrap (bwrap) is not installed"))
    names = [s["function"]["name"] for s in ToolBox(WorkingCopy(base={}), commands=False).specs()]

    assert "run_command" not in names
    with pytest.raises(RuntimeError, match="no sandbox"):
        run_command(command="true", files={})


def test_the_probe_logs_what_bounds_each_command(monkeypatch, caplog):
    from editor.agents import watchdog

    monkeypatch.setattr(sandbox, "_probe", None)  # probe again, as a new worker process would
    with caplog.at_level("INFO", logger="editor.agents.sandbox"):
        works, why = sandbox.probe()

    assert works, why
    assert watchdog.mechanism() in {"cgroup v2", "cgroup v1", "watchdog"}
    assert f"whole tree by {watchdog.mechanism()}" in caplog.text
