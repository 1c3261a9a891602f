# Flint's production image: one image for the web (daphne), worker (celery) and migrate
# services of docker-compose.yml. Runs as an unprivileged user; data lives in /data.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    FLINT_ENV=production \
    FLINT_DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# bubblewrap: the sandbox deep tasks run commands in (editor/agents/sandbox.py). Without
# it the worker still runs tasks, with commands disabled.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system flint \
    && useradd --system --gid flint --home-dir /app --shell /usr/sbin/nologin flint \
    && mkdir -p /data \
    && chown flint:flint /data

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
# (The empty packages let pip resolve the project; the project itself runs from /app.)
COPY pyproject.toml ./
RUN mkdir -p webapp editor \
    && touch webapp/__init__.py editor/__init__.py \
    && pip install . \
    && pip uninstall -y flint \
    && rm -rf webapp editor build ./*.egg-info

COPY . .

# Static files are collected at build time with throw-away values: settings insist on
# them in production, and none of them is used by collectstatic or kept in the image.
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build.invalid/flint REDIS_URL=redis://build.invalid:6379/0 \
    python manage.py collectstatic --noinput --verbosity 0

USER flint
EXPOSE 8000
VOLUME ["/data"]

CMD ["python", "-m", "webapp.serve", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers"]
