"""`make run`: Flint on one machine, in one terminal.

Starts the embedded Redis (unless REDIS_URL is set), applies migrations, then runs daphne
on HOST:PORT (127.0.0.1:8000) and a Celery worker, with their output in this terminal
and in FLINT_DATA_DIR/logs/. Ctrl-C or SIGTERM stops everything it started and exits 0;
a process that dies on its own stops the rest and exits 1 with the end of its log.

Single-threaded on purpose: children are started with a preexec_fn (die_with_parent),
which is only safe when no other thread runs, and output is read with a selector.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import fcntl
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from editor.core.datadir import FILE_MODE, UMASK, private_dir
from editor.core.processes import die_with_parent

REPO = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10.0
# A signal to the process group of `make run` reaches the launcher twice: once from the
# kernel and once relayed by make, milliseconds apart. Only a repeat after this long is a
# person asking again (a second Ctrl-C) to skip the graceful stop.
REPEAT_SIGNAL_SECONDS = 1.0
HEALTH_TIMEOUT_SECONDS = 90.0
UNIX_SOCKET_PATH_MAX = 107


class LaunchError(Exception):
    """Flint cannot start; the message says why and what to do."""


def say(message: str = "") -> None:
    with contextlib.suppress(OSError):  # a closed terminal must not stop the shutdown
        print(f"flint  | {message}" if message else "", flush=True)


class Child:
    """A process started by the launcher: its own process group, output piped to us."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        private_dir(log_dir)
        self.log_path = log_dir / f"{name}.log"
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        self.log: IO[str] = os.fdopen(fd, "a")
        self.log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} $ {' '.join(args)}\n")
        self.tail: collections.deque[str] = collections.deque(maxlen=30)
        self._partial = b""
        self.process = subprocess.Popen(
            args,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
            # Its own group: the terminal's Ctrl-C reaches only the launcher, which stops
            # the children in order; and killpg reaches a worker's pool processes too.
            process_group=0,
        )
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def read_output(self) -> None:
        assert self.process.stdout is not None
        while True:
            try:
                chunk = os.read(self.process.stdout.fileno(), 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                if self._partial:
                    self._emit_line(self._partial)
                self._partial = b""
                return
            lines = (self._partial + chunk).split(b"\n")
            self._partial = lines.pop()
            for line in lines:
                self._emit_line(line)

    def _emit_line(self, raw: bytes) -> None:
        line = raw.decode(errors="replace").rstrip("\r")
        self.tail.append(line)
        self.log.write(line + "\n")
        self.log.flush()
        with contextlib.suppress(OSError):
            print(f"{self.name:<6} | {line}", flush=True)

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def close(self) -> None:
        self.read_output()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()


class Launcher:
    def __init__(self) -> None:
        self.children: list[Child] = []
        self.redis = None
        self.selector = selectors.DefaultSelector()
        self.stop_signal: int | None = None
        self.stop_asked_at = 0.0
        self.force = False
        self.lock_file: IO[str] | None = None

    # --- signals ----------------------------------------------------------------------
    def on_signal(self, signum: int, frame) -> None:
        now = time.monotonic()
        if self.stop_signal is None:
            self.stop_signal, self.stop_asked_at = signum, now
        elif now - self.stop_asked_at >= REPEAT_SIGNAL_SECONDS:
            self.force = True  # a second Ctrl-C: do not wait for graceful shutdowns

    def check_stop(self) -> None:
        if self.stop_signal is not None:
            raise KeyboardInterrupt

    # --- children ---------------------------------------------------------------------
    def start(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Child:
        child = Child(name, args, env, log_dir)
        self.children.append(child)
        assert child.process.stdout is not None
        self.selector.register(child.process.stdout, selectors.EVENT_READ, child)
        return child

    def pump(self, seconds: float) -> None:
        """Copy children's output to the terminal for up to `seconds` (less on a signal)."""
        deadline = time.monotonic() + seconds
        while self.stop_signal is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if not self.selector.get_map():
                time.sleep(min(left, 0.2))
                continue
            for key, _ in self.selector.select(timeout=min(left, 0.2)):
                child: Child = key.data
                child.read_output()
                if not child.alive():
                    with contextlib.suppress(KeyError, ValueError):
                        self.selector.unregister(key.fileobj)

    def dead_child(self) -> Child | None:
        for child in self.children:
            if not child.alive():
                return child
        return None

    def redis_died(self) -> bool:
        return self.redis is not None and self.redis.process.poll() is not None

    def stop_everything(self) -> None:
        """SIGTERM the app processes, wait, SIGKILL stragglers; Redis goes last."""
        for child in self.children:
            if child.alive():
                child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(child.alive() for child in self.children) and time.monotonic() < deadline:
            if self.force:
                break
            for child in self.children:
                child.read_output()
            time.sleep(0.1)
        for child in self.children:
            if child.alive() and self.force:
                say(f"{child.name} is still stopping; killing it (asked twice)")
            elif child.alive():
                say(f"{child.name} did not stop in {STOP_GRACE_SECONDS:.0f}s; killing it")
            # Also reaches pool processes a worker may have left behind.
            child.signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(5)
            child.close()
        if self.redis is not None:
            self.redis.stop(timeout=1.0 if self.force else STOP_GRACE_SECONDS)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if self.redis.process is not None:
                    os.killpg(self.redis.process.pid, signal.SIGKILL)
        self.selector.close()

    # --- start-up steps ---------------------------------------------------------------
    def take_lock(self, data_dir: Path, url: str) -> None:
        """One launcher per data directory: a second `make run` says where the first is."""
        path = data_dir / "launcher.lock"
        lock_file = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, FILE_MODE), "a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "another launcher"
            lock_file.close()
            raise LaunchError(
                f"Flint is already running ({holder}) on the data directory {data_dir}.\n"
                "Open it in your browser, or stop it with Ctrl-C in its terminal first."
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"pid {os.getpid()}, {url}\n")
        lock_file.flush()
        self.lock_file = lock_file


def check_port_free(host: str, port: int, probe_host: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise LaunchError(f"HOST={host} is not an address of this machine.") from None
            if exc.errno != errno.EADDRINUSE:
                raise LaunchError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    if _looks_like_flint(probe_host, port):
        raise LaunchError(
            f"Flint is already running at http://{probe_host}:{port}/ (from another data "
            "directory). Open it, or stop that one first."
        )
    raise LaunchError(
        f"Port {port} on {host} is already in use by another program.\n"
        f"Stop that program, or pick another port: PORT={port + 1} make run"
    )


def _looks_like_flint(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except (OSError, ValueError):
        return False
    return b'"database"' in body and b'"redis"' in body


def health_status(url: str, host_header: str) -> tuple[int | None, str]:
    request = urllib.request.Request(url + "healthz", headers={"Host": host_header})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (OSError, ValueError) as exc:
        return None, str(exc)


def _load_settings():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.DATA_DIR  # noqa: B018 -- reading one setting loads and validates them all
    except ImproperlyConfigured as exc:
        raise LaunchError(f"Configuration error: {exc}") from None
    return settings


def _first_account_pending() -> bool:
    import django
    from django.contrib.auth import get_user_model
    from django.db import connection

    django.setup()
    try:
        return not get_user_model().objects.exists()
    finally:
        connection.close()


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104


@dataclass(frozen=True)
class LaunchConfig:
    """Where and how this launch runs, read once from the environment and the settings."""

    host: str
    port: int
    concurrency: int
    display: str  # the host as a browser reaches it (0.0.0.0 is not an address to open)
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://{self.display}:{self.port}/"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


def run(launcher: Launcher) -> int:
    """Start everything, say where Flint is, then watch until a signal or a death."""
    settings = _load_settings()
    config = config_read(settings)
    launcher.take_lock(config.data_dir, config.url)
    check_port_free(config.host, config.port, config.display)
    env = dict(os.environ, PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="webapp.settings")
    redis_start(launcher, settings, env, config.data_dir)
    launcher.check_stop()
    migrations_apply(launcher, env, config.log_dir)
    demo_port = start_demo_models(launcher, settings, env, config.log_dir)
    app_start(launcher, env, config)
    if (code := wait_healthy(launcher, settings, config)) is not None:
        return code
    welcome_say(config, demo_port)
    return watch(launcher)


def config_read(settings) -> LaunchConfig:
    from webapp.env import env_int, env_str

    try:
        port = env_int("PORT", 8000, minimum=1)
        concurrency = env_int("FLINT_WORKER_CONCURRENCY", 2, minimum=1)
    except Exception as exc:
        raise LaunchError(f"Configuration error: {exc}") from None
    host = env_str("HOST", "127.0.0.1")
    return LaunchConfig(
        host=host,
        port=port,
        concurrency=concurrency,
        display=_display_host(host),
        data_dir=settings.DATA_DIR,
    )


def redis_start(launcher: Launcher, settings, env: dict[str, str], data_dir: Path) -> None:
    """Use REDIS_URL if set; otherwise start the embedded Redis and point `env` at it."""
    from webapp.env import env_str

    if env_str("REDIS_URL"):
        say(f"Using the Redis at REDIS_URL ({settings.REDIS_URL.split('@')[-1]})")
        return
    from editor.core.embedded_redis import EmbeddedRedis

    embedded = EmbeddedRedis(data_dir)
    if len(str(embedded.socket)) > UNIX_SOCKET_PATH_MAX:
        raise LaunchError(
            f"The embedded Redis socket path {embedded.socket} is longer than a unix "
            "socket may be; set FLINT_DATA_DIR to a shorter directory."
        )
    try:
        env["REDIS_URL"] = embedded.start()
    except RuntimeError as exc:
        raise LaunchError(str(exc)) from None
    launcher.redis = embedded
    say(f"Embedded Redis on {embedded.socket}")


def migrations_apply(launcher: Launcher, env: dict[str, str], log_dir: Path) -> None:
    """Run `migrate` to the end, its output in the terminal, before anything serves."""
    say("Applying database migrations")
    args = [sys.executable, "manage.py", "migrate", "--noinput"]
    migrate = launcher.start("migrate", args, env, log_dir)
    while migrate.alive():
        launcher.pump(0.2)
        launcher.check_stop()
    migrate.read_output()
    if migrate.process.returncode != 0:
        raise LaunchError(
            f"Migrations failed (exit {migrate.process.returncode}); see above or "
            f"{migrate.log_path}"
        )
    with contextlib.suppress(KeyError, ValueError):
        launcher.selector.unregister(migrate.process.stdout)
    migrate.close()
    launcher.children.remove(migrate)


def app_start(launcher: Launcher, env: dict[str, str], config: LaunchConfig) -> None:
    """The Celery worker (with beat) and daphne."""
    python = sys.executable
    worker_args = [python, "-m", "celery", "-A", "webapp", "worker", "--loglevel", "INFO"]
    worker_args += ["--concurrency", str(config.concurrency), "-n", "flint@%h"]
    # One worker on one machine: it also runs the periodic jobs (the lost-task sweep).
    worker_args += ["--beat", "--schedule", str(config.data_dir / "celerybeat-schedule")]
    launcher.start("worker", worker_args, env, config.log_dir)
    daphne_args = [python, "-m", "webapp.serve", "-b", config.host, "-p", str(config.port)]
    launcher.start("web", daphne_args, env, config.log_dir)


def wait_healthy(launcher: Launcher, settings, config: LaunchConfig) -> int | None:
    """Wait for /healthz to answer 200; an exit code if a process died meanwhile."""
    allowed = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h not in {"*", ""}]
    host_header = allowed[0] if allowed else config.display
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    status, body = None, ""
    while time.monotonic() < deadline:
        launcher.pump(0.3)
        launcher.check_stop()
        if (dead := launcher.dead_child()) or launcher.redis_died():
            return report_death(launcher, dead)
        status, body = health_status(config.url, host_header)
        if status == 200:
            return None
        if status == 400:
            raise LaunchError(
                f"Django refused the Host header {host_header!r}: add the address you "
                "use to ALLOWED_HOSTS."
            )
    raise LaunchError(
        f"Flint did not become healthy within {HEALTH_TIMEOUT_SECONDS:.0f}s. "
        f"Last /healthz answer ({status}): {body}"
    )


def welcome_say(config: LaunchConfig, demo_port: int | None) -> None:
    """Where Flint is, how to get in, which models answer, where the logs are."""
    url = config.url
    first = _first_account_pending()
    say()
    say(f"Flint is running at {url}")
    if first:
        say(f"Create your account at {url}accounts/signup/ : the first account on a fresh")
        say(f"install becomes staff (the admin is at {url}admin/).")
    else:
        say(f"Log in at {url}accounts/login/ (new here? sign up at {url}accounts/signup/).")
    if demo_port:
        say(f"Models: DEMO MODE, Flint's simulator on 127.0.0.1:{demo_port} answers for every")
        say("tier, and the pages say so. For a real model server set OPENAI_BASE_URL and")
        say("OPENAI_API_KEY (or per tier, docs/CONFIGURATION.md) before `make run`.")
    say(f"Logs: {config.log_dir}/. Press Ctrl-C to stop.")
    say()


def watch(launcher: Launcher) -> int:
    """Copy output until a signal (exit 0) or a process dies on its own (exit 1)."""
    while True:
        launcher.pump(0.5)
        if launcher.stop_signal is not None:
            return 0
        if (dead := launcher.dead_child()) or launcher.redis_died():
            return report_death(launcher, dead)


def start_demo_models(
    launcher: Launcher, settings, env: dict[str, str], log_dir: Path
) -> int | None:
    """With no model server configured (or FLINT_DEMO_MODE=1), serve Flint's simulator.

    A newcomer's room then has a working assistant at once, labelled as simulated in
    every page; FLINT_DEMO_MODE=0 turns this off.
    """
    from webapp.env import env_bool

    configured = any(tier["base_url"] for tier in settings.FLINT_MODEL_TIERS.values())
    demo = env_bool("FLINT_DEMO_MODE", not configured)
    if not demo:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = "demo-" + os.urandom(8).hex()  # only Flint's own processes hold it
    args = [sys.executable, "manage.py", "simulate_models", "--port", str(port), "--api-key", key,
            "--demo"]  # fmt: skip
    launcher.start("models", args, env, log_dir)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        launcher.pump(0.1)
        launcher.check_stop()
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
    else:
        raise LaunchError("The demo model simulator did not start; see its lines above.")
    env["FLINT_DEMO_MODE"] = "1"
    for tier in settings.FLINT_MODEL_TIERS:
        env[f"FLINT_{tier.upper()}_MODEL_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
        env[f"FLINT_{tier.upper()}_MODEL_API_KEY"] = key
    return port


def report_death(launcher: Launcher, dead: Child | None) -> int:
    if dead is None:
        redis = launcher.redis
        log = redis.directory / "redis.log" if redis else None
        tail = log.read_text(errors="replace").splitlines()[-20:] if log and log.exists() else []
        say(f"The embedded Redis exited on its own (code {redis.process.returncode}).")
        for line in tail:
            say(f"  redis | {line}")
        return 1
    dead.read_output()
    say(f"{dead.name} exited on its own (code {dead.process.returncode}); its last lines:")
    for line in dead.tail:
        say(f"  {dead.name} | {line}")
    say(f"Full log: {dead.log_path}. Stopping the rest.")
    return 1


def main() -> int:
    # Everything the launcher and its children write (the database, logs, the beat
    # schedule, Redis's dump) is for Flint's own user alone.
    os.umask(UMASK)
    launcher = Launcher()
    signal.signal(signal.SIGINT, launcher.on_signal)
    signal.signal(signal.SIGTERM, launcher.on_signal)
    code = 0
    try:
        code = run(launcher)
    except KeyboardInterrupt:
        code = 0
    except LaunchError as exc:
        for line in str(exc).splitlines():
            say(line)
        code = 1
    finally:
        if launcher.stop_signal is not None:
            say(f"Stopping ({signal.Signals(launcher.stop_signal).name})")
        launcher.stop_everything()
        if launcher.stop_signal is not None:
            say("Stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
