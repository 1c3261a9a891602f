"""Settings from the environment: typed helpers (webapp/env.py) and the modes of webapp/settings.py.

Whole-settings behaviour is checked in a fresh `python manage.py ...` process, the way an
operator meets it: settings are read once at start-up.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.support.live import REPO
from webapp.env import env_bool, env_float, env_int, env_list, env_str, env_url

# Variables of the outer environment (the test run, CI) that must not leak into the
# fresh processes these tests start.
_SETTINGS_VARIABLES = (
    "FLINT_ENV", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
    "CSRF_TRUSTED_ORIGINS", "FLINT_DATA_DIR", "FLINT_CHANNEL_PREFIX", "FLINT_CELERY_QUEUE",
    "OPENAI_BASE_URL", "OPENAI_API_KEY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
)  # fmt: skip


def run_manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in _SETTINGS_VARIABLES and not key.startswith("FLINT_")
    }
    clean.update(FLINT_DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="webapp.settings")
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "FLINT_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "flint.example.com",
        "DATABASE_URL": "postgres://flint:s3cret@db.invalid:5432/flint",
        "REDIS_URL": "redis://redis.invalid:6379/0",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


PRINT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "debug": settings.DEBUG,
    "secret_key": settings.SECRET_KEY,
    "tiers": settings.FLINT_MODEL_TIERS,
    "database": settings.DATABASES["default"]["ENGINE"],
    "redis": settings.REDIS_URL,
    "broker": settings.CELERY_BROKER_URL,
    "queue": settings.CELERY_TASK_DEFAULT_QUEUE,
}))
"""


def read_settings(tmp_path, **env: str) -> dict:
    result = run_manage(tmp_path, "shell", "-c", PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- typed helpers --------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "YES", " on "])
def test_env_bool_reads_true(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_env_bool_reads_false(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", True) is False


def test_env_bool_fails_loudly_on_anything_else(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match=r"FLAG must be a boolean .* got 'maybe'"):
        env_bool("FLAG", False)


def test_env_bool_default_when_unset(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG", True) is True


def test_env_int_reads_and_checks_the_minimum(monkeypatch):
    monkeypatch.setenv("COUNT", "12")
    assert env_int("COUNT", 1, minimum=1) == 12
    monkeypatch.setenv("COUNT", "0")
    with pytest.raises(ImproperlyConfigured, match="COUNT must be at least 1, got 0"):
        env_int("COUNT", 1, minimum=1)


@pytest.mark.parametrize("raw", ["twelve", "1.5", "12s"])
def test_env_int_fails_loudly_on_a_non_integer(monkeypatch, raw):
    monkeypatch.setenv("COUNT", raw)
    with pytest.raises(ImproperlyConfigured, match="COUNT must be an integer"):
        env_int("COUNT", 1)


def test_env_float_reads_and_fails_loudly(monkeypatch):
    monkeypatch.setenv("SECONDS", "2.5")
    assert env_float("SECONDS", 1.0, minimum=0.1) == 2.5
    monkeypatch.setenv("SECONDS", "soon")
    with pytest.raises(ImproperlyConfigured, match="SECONDS must be a number, got 'soon'"):
        env_float("SECONDS", 1.0)
    monkeypatch.setenv("SECONDS", "0")
    with pytest.raises(ImproperlyConfigured, match=r"at least 0\.1"):
        env_float("SECONDS", 1.0, minimum=0.1)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , ,b.example,")
    assert env_list("HOSTS", ["x"]) == ["a.example", "b.example"]
    monkeypatch.delenv("HOSTS")
    assert env_list("HOSTS", ["x"]) == ["x"]


def test_env_str_treats_empty_as_unset(monkeypatch):
    monkeypatch.setenv("NAME", "")
    assert env_str("NAME", "default") == "default"


def test_env_url_checks_the_scheme(monkeypatch):
    monkeypatch.setenv("URL", "redis://127.0.0.1:6379/0")
    assert env_url("URL", None, schemes={"redis"}) == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("URL", "mysql://db/flint")
    with pytest.raises(ImproperlyConfigured, match="URL must be a URL with scheme redis"):
        env_url("URL", None, schemes={"redis"})


# --- the settings module, in a fresh process ------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("DATABASE_URL", "mysql://db/flint", "DATABASE_URL must be a URL with scheme"),
        ("REDIS_URL", "memcached://cache", "REDIS_URL must be a URL with scheme"),
        ("FLINT_FAST_MODEL_TIMEOUT", "quick", "FLINT_FAST_MODEL_TIMEOUT must be a number"),
        ("FLINT_INVITE_TTL_HOURS", "0", "FLINT_INVITE_TTL_HOURS must be at least 1"),
        ("FLINT_ENV", "staging", "FLINT_ENV must be development or production"),
    ],
)
def test_a_bad_value_stops_start_up_with_its_name(tmp_path, variable, value, message):
    result = run_manage(tmp_path, "check", **{variable: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_passes_check_deploy_without_a_warning(tmp_path):
    result = run_manage(
        tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production_env()
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "REDIS_URL"])
def test_production_refuses_to_start_without(tmp_path, missing):
    result = run_manage(tmp_path, "check", **production_env(**{missing: None}))

    assert result.returncode != 0
    assert f"{missing} must be set when FLINT_ENV=production" in result.stderr


def test_production_turns_debug_off(tmp_path):
    assert read_settings(tmp_path, **production_env())["debug"] is False


def test_development_generates_a_secret_key_once_into_the_data_dir(tmp_path):
    first = read_settings(tmp_path)["secret_key"]
    second = read_settings(tmp_path)["secret_key"]

    key_file = tmp_path / "data" / "secret_key"
    assert first == second == key_file.read_text().strip()
    assert len(first) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_development_defaults_to_sqlite_and_the_embedded_redis_socket(tmp_path):
    found = read_settings(tmp_path)

    assert found["database"] == "django.db.backends.sqlite3"
    assert found["redis"] == f"unix://{tmp_path / 'data' / 'redis.sock'}"
    assert found["broker"] == f"redis+socket://{tmp_path / 'data' / 'redis.sock'}"
    assert found["debug"] is True


def test_model_tiers_fall_back_to_the_openai_variables(tmp_path):
    tiers = read_settings(
        tmp_path,
        OPENAI_BASE_URL="http://models.internal/v1",
        OPENAI_API_KEY="sk-shared",
        FLINT_DEEP_MODEL_BASE_URL="https://deep.internal/v1",
        FLINT_DEEP_MODEL_API_KEY="sk-deep",
        FLINT_DEEP_MODEL_NAME="big-coder",
        FLINT_REVIEW_MODEL_TIMEOUT="5",
    )["tiers"]

    assert tiers["fast"]["base_url"] == "http://models.internal/v1"
    assert tiers["fast"]["api_key"] == "sk-shared"
    assert tiers["deep"] == {
        "base_url": "https://deep.internal/v1",
        "api_key": "sk-deep",
        "model": "big-coder",
        "timeout": 60.0,
        # The wire's defaults (docs/MODELS.md): `auto` picks by the server, and the deep
        # tier prefers the Responses API's WebSocket mode.
        "wire": "auto",
        "transport": "websocket",
        "store": False,
        "reasoning_summary": "auto",
    }
    assert tiers["review"]["base_url"] == "http://models.internal/v1"
    assert tiers["review"]["timeout"] == 5.0


def test_the_task_queue_follows_the_channel_prefix(tmp_path):
    assert read_settings(tmp_path)["queue"] == "flint"
    assert read_settings(tmp_path, FLINT_CHANNEL_PREFIX="blue")["queue"] == "blue"
    assert read_settings(tmp_path, FLINT_CELERY_QUEUE="tasks")["queue"] == "tasks"


def test_the_model_api_settings_reach_the_tiers(tmp_path):
    shown = run_manage(
        tmp_path, "shell", "-c",
        "from django.conf import settings; import json; "
        "print(json.dumps({t: [c['wire'], c['transport'], c['store']] "
        "for t, c in settings.FLINT_MODEL_TIERS.items()}))",
        FLINT_MODEL_API="responses", FLINT_REVIEW_MODEL_API="chat", FLINT_FAST_MODEL_STORE="1",
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout.strip().splitlines()[-1]) == {
        "fast": ["responses", "http", True],
        "deep": ["responses", "websocket", False],
        "review": ["chat", "http", False],
    }


def test_a_bad_model_api_stops_start_up(tmp_path):
    refused = run_manage(tmp_path, "check", FLINT_DEEP_MODEL_API="graphql")
    assert refused.returncode != 0
    assert "FLINT_DEEP_MODEL_API must be one of auto, chat, responses" in refused.stderr
