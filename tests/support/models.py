"""Flint's model simulator as the model server of a test: in-process settings for the
tiers, or environment for the real processes a test starts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from editor.assist.simulator import Simulator, SimulatorThread
from tests.support.live import start_daphne, start_worker

SIM_KEY = "sim-key"
TIERS = ("fast", "deep", "review")


def simulator_start(**options) -> SimulatorThread:
    """A simulator on a free port (deterministic, scriptable: editor/assist/simulator)."""
    options.setdefault("api_key", SIM_KEY)
    return SimulatorThread(Simulator(**options)).start()


def simulator_tiers(base_url: str, *, timeout: float) -> dict[str, dict]:
    """FLINT_MODEL_TIERS with every tier on the simulator (models named sim-<tier>)."""
    return {
        name: {"base_url": base_url, "api_key": SIM_KEY, "model": f"sim-{name}", "timeout": timeout}
        for name in TIERS
    }


def simulator_env(base_url: str, tiers: Iterable[str] = TIERS) -> dict[str, str]:
    """The environment that points a real daphne or worker's tiers at the simulator."""
    env = {}
    for tier in tiers:
        env[f"FLINT_{tier.upper()}_MODEL_BASE_URL"] = base_url
        env[f"FLINT_{tier.upper()}_MODEL_API_KEY"] = SIM_KEY
    return env


@contextmanager
def flint_on_simulator(
    *,
    env: dict[str, str],
    db_blocker,
    tiers: Iterable[str] = ("deep", "review"),
    **simulator_options,
) -> Iterator[SimpleNamespace]:
    """A simulator, a real Celery worker and a real daphne whose tiers use it (for a
    module-scoped fixture: pass pytest-django's `django_db_blocker`)."""
    simulator_options.setdefault("tokens_per_s", 20000)
    simulator_options.setdefault("ttft_ms", 5)
    sim = simulator_start(**simulator_options)
    env = {**simulator_env(sim.base_url, tiers), **env}
    try:
        with db_blocker.unblock():
            worker = start_worker(env=env, concurrency=2)
            try:
                daphne = start_daphne(env=env)
            except BaseException:
                worker.stop()
                raise
        try:
            yield SimpleNamespace(sim=sim, worker=worker, daphne=daphne, url=daphne.url, env=env)
        finally:
            daphne.stop()
            worker.stop()
    finally:
        sim.stop()
