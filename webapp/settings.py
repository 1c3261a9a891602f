"""Flint settings, all read from the environment (see docs/CONFIGURATION.md).

Two modes: the embedded default (SQLite + an embedded Redis under FLINT_DATA_DIR,
no services to install) and production (FLINT_ENV=production: SECRET_KEY,
ALLOWED_HOSTS and a real DATABASE_URL / REDIS_URL required, hardened cookies).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from editor.core.datadir import private_dir, private_file, private_file_write, private_sqlite
from webapp.env import env_bool, env_choice, env_float, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

FLINT_ENV = env_str("FLINT_ENV", "development")
if FLINT_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"FLINT_ENV must be development or production, got {FLINT_ENV!r}")
PRODUCTION = FLINT_ENV == "production"

DATA_DIR = private_dir(Path(env_str("FLINT_DATA_DIR", str(BASE_DIR / ".flint-data"))).resolve())


def _secret_key() -> str:
    """The key from SECRET_KEY, or (outside production) one generated once into DATA_DIR."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when FLINT_ENV=production")
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        private_file_write(key_file, secrets.token_urlsafe(50))
    private_file(key_file)  # one written by an older Flint
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when FLINT_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "editor.core",
    "editor.accounts",
    "editor.rooms",
    "editor.projects",
    "editor.collab",
    "editor.api",
    "editor.assist",
    "editor.usage",
    "editor.agents",
    "editor.demo_room",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "webapp.urls"
ASGI_APPLICATION = "webapp.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "editor.core.context_processors.flint",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{DATA_DIR / 'flint.sqlite3'}",
    schemes={"sqlite", "postgres", "postgresql", "pgsql"},
)
# Reusing connections saves a connect per model call and per room message in production;
# tests and `make run` keep 0 so that test databases can be dropped cleanly.
DATABASE_CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0, minimum=0)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=DATABASE_CONN_MAX_AGE, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + immediate transactions let daphne and the Celery worker share the file
    # without "database is locked" errors; the test database is a file too, so that
    # the real processes started by integration tests can open it.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    private_sqlite(str(DATABASES["default"]["NAME"]))  # sessions live there: 0600
elif PRODUCTION and env_bool("DATABASE_REQUIRE_SSL", False):
    DATABASES["default"].setdefault("OPTIONS", {})["sslmode"] = "require"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: the relays between processes and the Celery broker --------------------
# Unset means the embedded Redis that `make run` (webapp/launcher.py) starts on a unix
# socket in DATA_DIR; manage.py commands run beside it find it there.
EMBEDDED_REDIS_SOCKET = DATA_DIR / "redis.sock"
REDIS_URL = env_url(
    "REDIS_URL",
    f"unix://{EMBEDDED_REDIS_SOCKET}",
    schemes={"redis", "rediss", "unix"},
)
if PRODUCTION and REDIS_URL.startswith("unix://") and not env_str("REDIS_URL"):
    raise ImproperlyConfigured("REDIS_URL must be set when FLINT_ENV=production")


def celery_broker_url(redis_url: str) -> str:
    """Kombu spells a unix-socket Redis as redis+socket://."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


# One namespace for a deployment's relay channels and its task queue, so that two
# Flints (or two test runs) sharing one Redis never hear each other's events or take
# each other's tasks.
FLINT_CHANNEL_PREFIX = env_str("FLINT_CHANNEL_PREFIX", "flint")
# Every Redis pool of a process (presence, quotas, the relays) holds at
# most this many connections; a burst waits up to FLINT_REDIS_POOL_TIMEOUT for one.
FLINT_REDIS_MAX_CONNECTIONS = env_int("FLINT_REDIS_MAX_CONNECTIONS", 64, minimum=4)
FLINT_REDIS_POOL_TIMEOUT = env_float("FLINT_REDIS_POOL_TIMEOUT", 10.0, minimum=0.1)

# No channel layer: sockets hear each other through the per-process Redis pub/sub relays
# (documents, rooms, access changes; editor/core/relay.py), never through channels_redis,
# whose per-socket channel, receive task and group round trips did not hold a team
# (issue 11). Channels runs without one.

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env_str("FLINT_CELERY_QUEUE", FLINT_CHANNEL_PREFIX)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Results live in Flint's own rows (task status, diffs, usage), not a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1800, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1860, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False

# --- auth ----------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "rooms:list"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The test suite hashes thousands of passwords; it turns this on (and so do the real
# processes it starts, which must verify those hashes). Never in production.
if env_bool("FLINT_INSECURE_FAST_PASSWORD_HASHING", False):
    if PRODUCTION:
        raise ImproperlyConfigured("FLINT_INSECURE_FAST_PASSWORD_HASHING is for tests only")
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# On a fresh self-hosted install the first account becomes staff, so the person who
# ran `make run` can reach the admin without a second command.
FLINT_FIRST_USER_IS_STAFF = env_bool("FLINT_FIRST_USER_IS_STAFF", not PRODUCTION)
FLINT_INVITE_TTL_HOURS = env_int("FLINT_INVITE_TTL_HOURS", 72, minimum=1)
FLINT_TOKEN_TTL_DAYS = env_int("FLINT_TOKEN_TTL_DAYS", 90, minimum=1)

# --- models: one OpenAI-compatible endpoint per tier -----------------------------------
OPENAI_BASE_URL = env_url("OPENAI_BASE_URL", None, schemes={"http", "https"})
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
_DEFAULT_MODEL_NAMES = {
    "fast": "gpt-5.3-codex-spark",
    "deep": "gpt-5.3-codex",
    "review": "gpt-5-mini",
}


# Which wire each tier speaks (docs/MODELS.md): "auto" is the Responses API on OpenAI's and
# Azure OpenAI's endpoints (the codex models are served only there), Chat Completions
# elsewhere (vLLM, Ollama, llama.cpp); resolved in editor/assist/tiers.py.
FLINT_MODEL_API = env_choice("FLINT_MODEL_API", "auto", choices=("auto", "chat", "responses"))
# WebSocket mode pays off over many tool-call turns: the deep tier's default.
_DEFAULT_TRANSPORTS = {"fast": "http", "deep": "websocket", "review": "http"}


def _model_tier(tier: str) -> dict[str, str | float | bool | None]:
    prefix = f"FLINT_{tier.upper()}_MODEL"
    return {
        "base_url": env_url(f"{prefix}_BASE_URL", OPENAI_BASE_URL, schemes={"http", "https"}),
        "api_key": env_str(f"{prefix}_API_KEY", OPENAI_API_KEY),
        "model": env_str(f"{prefix}_NAME", _DEFAULT_MODEL_NAMES[tier]),
        "timeout": env_float(f"{prefix}_TIMEOUT", 60.0, minimum=0.1),
        "wire": env_choice(f"{prefix}_API", FLINT_MODEL_API, choices=("auto", "chat", "responses")),
        "transport": env_choice(
            f"{prefix}_TRANSPORT", _DEFAULT_TRANSPORTS[tier], choices=("http", "websocket")
        ),
        # store=true chains turns by previous_response_id; false (the default) keeps nothing
        # on the provider and carries encrypted reasoning back with each request.
        "store": env_bool(f"{prefix}_STORE", False),
        "reasoning_summary": env_choice(
            f"{prefix}_REASONING_SUMMARY", "auto", choices=("auto", "concise", "detailed", "off")
        ),
    }


FLINT_MODEL_TIERS = {tier: _model_tier(tier) for tier in ("fast", "deep", "review")}
# Demo mode: the tiers point at Flint's own simulator and the UI says so plainly.
FLINT_DEMO_MODE = env_bool("FLINT_DEMO_MODE", False)

# --- fast model in the room (editor/assist, docs/MODELS.md) ----------------------------
_DEFAULT_CONTEXT_TOKENS = {"fast": 128_000, "deep": 400_000, "review": 128_000}
FLINT_MODEL_CONTEXT_TOKENS = {
    tier: env_int(f"FLINT_{tier.upper()}_MODEL_CONTEXT_TOKENS", default, minimum=1024)
    for tier, default in _DEFAULT_CONTEXT_TOKENS.items()
}
# Retries happen only before the first token; a Retry-After longer than the cap is not
# waited for (an interactive user is better told "rate-limited" at once).
FLINT_MODEL_RETRIES = env_int("FLINT_MODEL_RETRIES", 2, minimum=0)
FLINT_MODEL_RETRY_AFTER_MAX_S = env_float("FLINT_MODEL_RETRY_AFTER_MAX_S", 2.0, minimum=0)
FLINT_ASSIST_MAX_STREAMS_PER_USER = env_int("FLINT_ASSIST_MAX_STREAMS_PER_USER", 3, minimum=1)
FLINT_ASSIST_FRAME_MS = env_int("FLINT_ASSIST_FRAME_MS", 15, minimum=1)
# Inline completion asks after this pause in typing (the browser reads it from the page).
FLINT_ASSIST_DEBOUNCE_MS = env_int("FLINT_ASSIST_DEBOUNCE_MS", 150, minimum=10)
FLINT_ASSIST_QA_HISTORY = env_int("FLINT_ASSIST_QA_HISTORY", 100, minimum=1)

# --- i18n, static --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))
if not PRODUCTION:
    # WhiteNoise warns on every start when it is missing; production fills it by collectstatic.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- security ------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the room page's fetch() calls read it
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("FLINT_BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"refusals": {"()": "editor.core.logs.RefusalsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Configured here so that Django's own DEBUG console handler on "django" goes:
        # with it, every django.* line (a 403's traceback too) printed twice.
        "django": {"handlers": []},
        "django.request": {"filters": ["refusals"]},
        "django.channels.server": {"level": "WARNING"},
    },
}

# --- mail: password resets (docs/CONFIGURATION.md, "Mail") ----------------------------
# Unset EMAIL_HOST: mails are printed in the web process's log (the terminal of
# `make run`), so a reset link works on one machine with no mail server.
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL exclude each other; set one.")
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Flint <flint@localhost>")
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 3600, minimum=60)

# --- projects: uploads, file limits, blob storage (docs/PERFORMANCE.md, "Upload ingest") ---
FLINT_UPLOAD_MAX_BYTES = env_int("FLINT_UPLOAD_MAX_BYTES", 100 * 1024 * 1024, minimum=1)
FLINT_UPLOAD_MAX_EXPANDED_BYTES = env_int(
    "FLINT_UPLOAD_MAX_EXPANDED_BYTES", 500 * 1024 * 1024, minimum=1
)
FLINT_UPLOAD_MAX_FILES = env_int("FLINT_UPLOAD_MAX_FILES", 20_000, minimum=1)
FLINT_EDITABLE_MAX_BYTES = env_int("FLINT_EDITABLE_MAX_BYTES", 2 * 1024 * 1024, minimum=1)
# Expanded / compressed, checked per member above 1 MB and overall above 10 MB.
FLINT_UPLOAD_MAX_RATIO = env_int("FLINT_UPLOAD_MAX_RATIO", 200, minimum=2)
# Uploads up to this size are staged inside the request; larger ones by a Celery worker.
FLINT_UPLOAD_INLINE_MAX_BYTES = env_int("FLINT_UPLOAD_INLINE_MAX_BYTES", 8 * 1024 * 1024, minimum=0)
# A web request also hands an upload to a worker once it holds more entries, or expands to
# more bytes, than this: daphne's process should not spend seconds of CPU on one request.
FLINT_UPLOAD_INLINE_MAX_ENTRIES = env_int("FLINT_UPLOAD_INLINE_MAX_ENTRIES", 2000, minimum=0)
FLINT_UPLOAD_INLINE_MAX_EXPANDED_BYTES = env_int(
    "FLINT_UPLOAD_INLINE_MAX_EXPANDED_BYTES", 64 * 1024 * 1024, minimum=0
)
FLINT_UPLOAD_STAGE_TTL_MINUTES = env_int("FLINT_UPLOAD_STAGE_TTL_MINUTES", 60, minimum=1)
FLINT_BLOB_DIR = DATA_DIR / "blobs"
FLINT_UPLOAD_STAGING_DIR = DATA_DIR / "uploads"
# A folder upload sends one multipart file per project file.
DATA_UPLOAD_MAX_NUMBER_FILES = FLINT_UPLOAD_MAX_FILES + 1

# --- collab: shared documents (docs/PROTOCOL.md, "Document socket") ---
# daphne's own cap must be above this too (the launcher, compose and tests start it so).
FLINT_COLLAB_MAX_MESSAGE_BYTES = env_int(
    "FLINT_COLLAB_MAX_MESSAGE_BYTES", 8 * 1024 * 1024, minimum=1024
)
FLINT_COLLAB_IDLE_GRACE_SECONDS = env_float("FLINT_COLLAB_IDLE_GRACE_SECONDS", 10.0, minimum=0)
FLINT_COLLAB_COMPACT_EVERY = env_int("FLINT_COLLAB_COMPACT_EVERY", 1000, minimum=1)
# How long a deep task's named cursor stays in a document after its changes are applied.
FLINT_COLLAB_AGENT_HOLD_SECONDS = env_float("FLINT_COLLAB_AGENT_HOLD_SECONDS", 4.0, minimum=0)

# --- usage: quotas and rate limits (docs/USAGE.md); staff override them per user/team ---
# 0 means no limit. Counters live in Redis under FLINT_CHANNEL_PREFIX.
FLINT_QUOTA_USER_REQUESTS_PER_MINUTE = env_int("FLINT_QUOTA_USER_REQUESTS_PER_MINUTE", 0, minimum=0)
FLINT_QUOTA_USER_CONCURRENT_STREAMS = env_int("FLINT_QUOTA_USER_CONCURRENT_STREAMS", 0, minimum=0)
FLINT_QUOTA_TEAM_MONTHLY_TOKENS = env_int("FLINT_QUOTA_TEAM_MONTHLY_TOKENS", 0, minimum=0)
FLINT_QUOTA_TASK_TOKENS = env_int("FLINT_QUOTA_TASK_TOKENS", 2_000_000, minimum=0)
# A stream slot not released within this time (its process died) is freed.
FLINT_QUOTA_STREAM_MAX_S = env_int("FLINT_QUOTA_STREAM_MAX_S", 900, minimum=10)

# --- agents: deep tasks and the review tier (docs/AGENTS.md) ---------------------------
# Unset: the default queue. A deployment may run agent workers apart (`celery worker -Q`).
FLINT_AGENTS_QUEUE = env_str("FLINT_AGENTS_QUEUE") or CELERY_TASK_DEFAULT_QUEUE
FLINT_AGENTS_MAX_STEPS = env_int("FLINT_AGENTS_MAX_STEPS", 40, minimum=1)
FLINT_AGENTS_WALL_SECONDS = env_int("FLINT_AGENTS_WALL_SECONDS", 1200, minimum=10)
FLINT_AGENTS_STEP_MAX_TOKENS = env_int("FLINT_AGENTS_STEP_MAX_TOKENS", 8192, minimum=256)
FLINT_AGENTS_STEP_RETRIES = env_int("FLINT_AGENTS_STEP_RETRIES", 2, minimum=0)
# Celery's limits sit above the loop's own wall clock, so the loop ends a task first.
FLINT_AGENTS_SOFT_TIME_LIMIT = env_int("FLINT_AGENTS_SOFT_TIME_LIMIT", 1500, minimum=10)
FLINT_AGENTS_TIME_LIMIT = env_int("FLINT_AGENTS_TIME_LIMIT", 1560, minimum=20)
FLINT_AGENTS_HEARTBEAT_S = env_float("FLINT_AGENTS_HEARTBEAT_S", 5.0, minimum=0.5)
FLINT_AGENTS_STALE_S = env_float("FLINT_AGENTS_STALE_S", 60.0, minimum=2)
FLINT_AGENTS_MAX_RUNNING_PER_ROOM = env_int("FLINT_AGENTS_MAX_RUNNING_PER_ROOM", 8, minimum=1)
FLINT_AGENTS_COMPACT_AT = env_float("FLINT_AGENTS_COMPACT_AT", 0.75, minimum=0.1)
FLINT_AGENTS_SANDBOX = env_str("FLINT_AGENTS_SANDBOX", "auto")
if FLINT_AGENTS_SANDBOX not in {"auto", "off"}:
    raise ImproperlyConfigured(
        f"FLINT_AGENTS_SANDBOX must be auto or off, got {FLINT_AGENTS_SANDBOX!r}"
    )
FLINT_AGENTS_SANDBOX_UID = env_int("FLINT_AGENTS_SANDBOX_UID", 1_000_000_000, minimum=1)
FLINT_AGENTS_SANDBOX_UIDS = env_int("FLINT_AGENTS_SANDBOX_UIDS", 64, minimum=1)
FLINT_AGENTS_COMMAND_TIMEOUT_S = env_int("FLINT_AGENTS_COMMAND_TIMEOUT_S", 60, minimum=1)
FLINT_AGENTS_COMMAND_CPU_S = env_int("FLINT_AGENTS_COMMAND_CPU_S", 60, minimum=1)
FLINT_AGENTS_COMMAND_MEMORY_MB = env_int("FLINT_AGENTS_COMMAND_MEMORY_MB", 1024, minimum=64)
FLINT_AGENTS_COMMAND_PROCESSES = env_int("FLINT_AGENTS_COMMAND_PROCESSES", 64, minimum=8)
FLINT_AGENTS_COMMAND_FILE_MB = env_int("FLINT_AGENTS_COMMAND_FILE_MB", 64, minimum=1)
FLINT_AGENTS_COMMAND_DISK_MB = env_int("FLINT_AGENTS_COMMAND_DISK_MB", 1024, minimum=16)
FLINT_AGENTS_SANDBOX_LIMITS = env_str("FLINT_AGENTS_SANDBOX_LIMITS", "auto")
if FLINT_AGENTS_SANDBOX_LIMITS not in {"auto", "watchdog"}:
    raise ImproperlyConfigured(
        f"FLINT_AGENTS_SANDBOX_LIMITS must be auto or watchdog, got {FLINT_AGENTS_SANDBOX_LIMITS!r}"
    )
FLINT_AGENTS_COMMAND_OUTPUT_BYTES = env_int(
    "FLINT_AGENTS_COMMAND_OUTPUT_BYTES", 16_384, minimum=256
)
FLINT_AGENTS_PLAN_EXPIRE_S = env_float("FLINT_AGENTS_PLAN_EXPIRE_S", 3600.0, minimum=1)
FLINT_AGENTS_OUTPUT_EVERY_S = env_float("FLINT_AGENTS_OUTPUT_EVERY_S", 0.25, minimum=0.05)
# The prepared environment of a room (editor/agents/environments.py) and its cache.
FLINT_AGENTS_SETUP_TIMEOUT_S = env_int("FLINT_AGENTS_SETUP_TIMEOUT_S", 600, minimum=1)
FLINT_AGENTS_SETUP_DISK_MB = env_int("FLINT_AGENTS_SETUP_DISK_MB", 2048, minimum=16)
# Empty: <temp dir>/flint-agent-envs (sandbox uids must reach it: not under FLINT_DATA_DIR).
FLINT_AGENTS_ENV_CACHE_DIR = env_str("FLINT_AGENTS_ENV_CACHE_DIR", "")
FLINT_AGENTS_ENV_CACHE_MB = env_int("FLINT_AGENTS_ENV_CACHE_MB", 4096, minimum=16)
FLINT_AGENTS_ENV_CACHE_TTL_S = env_int("FLINT_AGENTS_ENV_CACHE_TTL_S", 7 * 24 * 3600, minimum=60)
# Periodic jobs: `make run`'s worker runs beat itself; compose has one `beat` service.
CELERY_BEAT_SCHEDULE = {
    "agents-sweep": {"task": "agents.sweep", "schedule": 30.0},  # tasks of lost workers
    "uploads-purge": {"task": "projects.uploads_purge_expired", "schedule": 600.0},
}

# --- Content-Security-Policy (django-csp 4: one dict of directives) ---------------------
# No inline script anywhere: pages load their ES modules from /static/ and pass data as
# `json_script` (type="application/json", never executed). Styles: CodeMirror 6 injects
# its theme as <style> elements, which carry the request's nonce (EditorView.cspNonce,
# read from <meta name="csp-nonce"> on the room page); style *attributes* stay allowed
# because y-codemirror.next draws remote cursors with setAttribute("style", ...), and
# templates and Django's admin use a few. Colours that reach them are checked on the
# server (editor/collab/awareness.py) and again in the page (static/src/common/color.js).
# 'self' in connect-src covers the same origin's ws:/wss: (CSP Level 3).
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE  # noqa: E402

MIDDLEWARE.append("csp.middleware.CSPMiddleware")
# django-ninja serves /api/docs from its own static files (no CDN, no inline script) only
# when it is an installed app; otherwise its page would break under this policy.
INSTALLED_APPS.append("ninja")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-elem": [SELF, NONCE],  # the nonce only on pages that asked for one
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}


# --- access: login lockout, token-failure cap, WebSocket origins (docs/SECURITY.md) ----
# django-axes counts failed log-ins (site and admin) per username and address; past the
# limit that pair is locked out for the cool-off, with a message on the login page (429).
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes asks
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("FLINT_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = env_int("FLINT_LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
# Per username at an address: one person's typos never lock out their colleagues behind
# the same NAT; a guesser gets FLINT_LOGIN_FAILURE_LIMIT tries per account per cool-off.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# REMOTE_ADDR only: daphne fills it from X-Forwarded-For when run with --proxy-headers
# (compose does); trusting the header otherwise would let a guesser pick its address.
AXES_CLIENT_IP_CALLABLE = "editor.accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "editor.accounts.lockout.locked_out_response"
AXES_VERBOSE = False
# Failed API Bearer / ?token= authentications per client address and minute; past it,
# 429 (API) and close 4029 (sockets). 0 turns the cap off.
FLINT_AUTH_FAILURES_PER_MINUTE = env_int("FLINT_AUTH_FAILURES_PER_MINUTE", 60, minimum=0)


def _ws_allowed_origins() -> list[str]:
    """Origins besides the socket's own (its Host header) a cookie socket may come from."""
    port = env_int("PORT", 8000, minimum=1)  # the launcher's port
    hosts = [h for h in ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")]
    own = [f"https://{h}" for h in hosts] if PRODUCTION else [f"http://{h}:{port}" for h in hosts]
    return [*CSRF_TRUSTED_ORIGINS, *own]


FLINT_WS_ALLOWED_ORIGINS = env_list("FLINT_WS_ALLOWED_ORIGINS", _ws_allowed_origins())
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # not a line per successful log-in
