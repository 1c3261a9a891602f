"""Usage dashboard benchmark: 1,000,000 usage rows, the dashboard's queries for 30 days.

For each engine (SQLite in a temp data dir; PostgreSQL when --pg-url is given) a fresh
subprocess migrates an empty database, seeds the rows in bulk (executemany on SQLite,
COPY on PostgreSQL) spread over 35 days, builds the hourly rollups from them with
`rollup_rebuild` (what `manage.py usage_rollup` does after a bulk import), runs ANALYZE,
then times `usage_dashboard()` for the last 30 days (every figure the page shows) and,
as the comparison, a naive Python aggregation of the same figures over the same rows
fetched from the database, and checks that both give the same requests and tokens per
model. Reports the median of --runs, per-query times, and the ratio; writes
bench/results/usage.json (the previous run's results are kept under "before").

    .venv/bin/python bench/usage_bench.py [--rows 1000000] [--runs 3] \
        [--pg-url postgres://postgres@127.0.0.1:5432/usagebench]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_PASSWORD = "bench password 123"  # noqa: S105 - throwaway accounts in a temp database
TIERS = [
    ("fast", "gpt-5.3-codex-spark", ("inline_completion", "quick_edit", "qa"), 120, 0.8),
    ("deep", "gpt-5.3-codex", ("task",), 900, 0.12),
    ("review", "gpt-5-mini", ("review",), 350, 0.08),
]
COLUMNS = (
    "user_id", "team_id", "room_id", "tier", "model", "feature", "prompt_tokens",
    "completion_tokens", "tokens_estimated", "ttft_ms", "duration_ms", "tokens_per_s",
    "status", "error_kind", "error_message", "task_id", "request_id", "created_at",
)  # fmt: skip


def _setup(db_url: str, data_dir: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ["FLINT_DATA_DIR"] = data_dir
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _rows(n: int, users: list[int], teams: dict[int, int], rooms: dict[int, int], now):
    rng = random.Random(11)
    weights = [t[4] for t in TIERS]
    span = 35 * 24 * 3600
    for i in range(n):
        tier, model, features, ttft, _ = rng.choices(TIERS, weights=weights)[0]
        user = rng.choice(users)
        team = teams[user]
        roll = rng.random()
        status = "ok" if roll > 0.03 else ("error" if roll > 0.01 else "refused")
        first = max(10.0, rng.gauss(ttft, ttft * 0.3)) if status == "ok" else None
        out = rng.randint(5, 800) if status == "ok" else 0
        rate = rng.uniform(50, 1200) if status == "ok" else None
        yield (
            user, team, rooms[team], tier, model, rng.choice(features),
            rng.randint(100, 8000) if status != "refused" else 0, out, False, first,
            (first or 0) + (out / rate * 1000 if rate else 0), rate, status,
            "" if status == "ok" else rng.choice(["model_down", "timeout", "rpm"]), "", None,
            f"r{i}", now - timedelta(seconds=rng.randint(0, span)),
        )  # fmt: skip


def _seed(n: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from editor.accounts.services import user_signup
    from editor.rooms.services import room_create, team_create

    call_command("migrate", verbosity=0)
    users, teams, rooms = [], {}, {}
    for t in range(8):
        owner = user_signup(username=f"owner{t}", password=BENCH_PASSWORD, display_name="O")
        team = team_create(name=f"Team {t}", owner=owner)
        rooms[team.pk] = room_create(team=team, actor=owner, name="Main").pk
        for u in range(5):
            user = (
                owner
                if u == 0
                else user_signup(
                    username=f"u{t}-{u}",
                    password=BENCH_PASSWORD,
                    display_name="U",
                )
            )
            users.append(user.pk)
            teams[user.pk] = team.pk
    now = datetime.now(UTC)
    started = time.perf_counter()
    rows = _rows(n, users, teams, rooms, now)
    table = "usage_usageevent"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) == 20_000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)
    seed_s = time.perf_counter() - started
    from editor.usage.rollups import rollup_rebuild

    started = time.perf_counter()
    written = rollup_rebuild(start=now - timedelta(days=36), end=now + timedelta(hours=1))
    rollup_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "seed_s": round(seed_s, 1),
        "rollup_build_s": round(rollup_s, 1),
        "rollup_rows": written,
        "rows": n,
    }


def _naive(filters) -> dict:
    """The same figures in plain Python over the rows fetched from the database."""
    from editor.usage.selectors import TTFT_EDGES, usage_events

    rows = usage_events(filters=filters).values_list(
        "tier", "model", "user_id", "team_id", "status", "error_kind", "prompt_tokens",
        "completion_tokens", "ttft_ms", "tokens_per_s", "created_at",
    ).iterator(chunk_size=5000)  # fmt: skip
    by_model, series, errors, users, teams, ttfts, rates, hist = {}, {}, {}, {}, {}, {}, {}, {}
    for tier, model, user, team, status, kind, p, c, ttft, tps, at in rows:
        m = by_model.setdefault((tier, model), [0, 0, 0, 0, 0])
        m[0] += 1
        m[1] += p
        m[2] += c
        m[3] += status == "error"
        m[4] += status == "refused"
        s = series.setdefault((at.date(), tier), [0, 0])
        s[0] += 1
        s[1] += p + c
        if status != "ok":
            errors[status, kind] = errors.get((status, kind), 0) + 1
        users[user] = users.get(user, 0) + p + c
        teams[team] = teams.get(team, 0) + p + c
        if status == "ok":
            if ttft is not None:
                ttfts.setdefault((tier, model), []).append(ttft)
                bucket = next((i for i, e in enumerate(TTFT_EDGES) if ttft < e), len(TTFT_EDGES))
                hist[tier, bucket] = hist.get((tier, bucket), 0) + 1
            if tps is not None:
                rates.setdefault((tier, model), []).append(tps)

    def pct(values: list[float], p: float) -> float:
        values.sort()
        pos = p * (len(values) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(values) - 1)
        return values[lo] + (values[hi] - values[lo]) * (pos - lo)

    latency = {
        k: (pct(v, 0.5), pct(v, 0.95), pct(rates.get(k, [0.0]), 0.5)) for k, v in ttfts.items()
    }
    top_users = sorted(users.items(), key=lambda kv: -kv[1])[:10]
    top_teams = sorted(teams.items(), key=lambda kv: -kv[1])[:10]
    return {"models": by_model, "latency": latency, "top": (top_users, top_teams), "n": series}


def worker(args: argparse.Namespace) -> None:
    data_dir = tempfile.mkdtemp(prefix="usage-bench-")
    db_url = args.db_url or f"sqlite:///{data_dir}/bench.sqlite3"
    _setup(db_url, data_dir)
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from editor.usage import selectors
    from editor.usage.selectors import UsageFilters

    seeded = _seed(args.rows)
    end = timezone.now()
    filters = UsageFilters(start=end - timedelta(days=30), end=end)
    in_range = selectors.usage_events(filters=filters).count()
    dashboard, naive, per_query = [], [], {}
    # usage_cube feeds totals, per model, errors and the top-N; usage_latency_counts feeds
    # the percentiles and the histogram (the dashboard runs each once).
    parts = {
        name: getattr(selectors, name)
        for name in ("usage_cube", "usage_series", "usage_latency_counts")
    }
    # The completions' acceptance is the assist app's figure (editor/assist/selectors.py).
    parts["completion_acceptance"] = selectors.DASHBOARD_FIGURES["acceptance"]
    for _ in range(args.runs):
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            selectors.usage_dashboard(filters=filters)
            dashboard.append(time.perf_counter() - started)
        for name, read in parts.items():
            started = time.perf_counter()
            read(filters=filters)
            per_query.setdefault(name, []).append(time.perf_counter() - started)
        started = time.perf_counter()
        _naive(filters)
        naive.append(time.perf_counter() - started)
    naive_models = _naive(filters)["models"]
    by_model = {(r["tier"], r["model"]): r for r in selectors.usage_by_model(filters=filters)}
    matches = naive_models.keys() == by_model.keys() and all(
        (v[0], v[1], v[2], v[3], v[4])
        == tuple(by_model[k][f] for f in ("requests", "prompt_tokens", "completion_tokens",
                                            "errors", "refused"))
        for k, v in naive_models.items()
    )  # fmt: skip
    plans = {}
    if connection.vendor == "postgresql":
        from django.db.models import Sum

        from editor.usage.models import UsageHour
        from editor.usage.rollups import hour_ceil, hour_floor

        rollup = UsageHour.objects.filter(
            hour__gte=hour_ceil(filters.start), hour__lt=hour_floor(filters.end)
        )
        queries_to_plan = {
            "cube": rollup.values_list(
                "tier", "model", "team_id", "user_id", "status", "error_kind"
            ).annotate(Sum("requests")),
            "cube_team_filter": rollup.filter(team_id=1)
            .values_list("tier", "model", "user_id", "status")
            .annotate(Sum("requests")),
            "edges": selectors._edge_events(filters).values_list("tier").annotate(Sum("id")),
        }
        with connection.cursor() as cursor:
            for name, query in queries_to_plan.items():
                sql, params = query.query.sql_with_params()
                cursor.execute("EXPLAIN " + sql, params)
                plans[name] = [row[0] for row in cursor.fetchall()]
    print(json.dumps({
        "engine": connection.vendor,
        **seeded,
        "rows_in_30_days": in_range,
        "queries": len(queries.captured_queries),
        "dashboard_s": round(statistics.median(dashboard), 3),
        "naive_python_s": round(statistics.median(naive), 3),
        "ratio": round(statistics.median(naive) / statistics.median(dashboard), 1),
        "matches_naive": matches,
        "per_query_s": {k: round(statistics.median(v), 3) for k, v in per_query.items()},
        "plans": plans,
    }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("USAGE_BENCH_PG_URL"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    results = []
    for db_url in [None, args.pg_url] if args.pg_url else [None]:
        command = [sys.executable, __file__, "--worker", "--rows", str(args.rows),
                   "--runs", str(args.runs)]  # fmt: skip
        if db_url:
            command += ["--db-url", db_url]
        out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"{result['engine']:>10}: dashboard {result['dashboard_s']} s, naive Python "
              f"{result['naive_python_s']} s ({result['ratio']}x), "
              f"{result['rows_in_30_days']:,} rows in range")  # fmt: skip
    out_path = ROOT / "bench" / "results" / "usage.json"
    before = None
    if out_path.exists():
        previous = json.loads(out_path.read_text())
        before = {k: v for k, v in previous.items() if k != "before"}
    record = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg": os.getloadavg()},
        "results": results,
        "before": before,
    }  # fmt: skip
    out_path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written to {out_path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
