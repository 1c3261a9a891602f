"""Rebuild the hourly usage rollups from the raw rows for a range of days (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError

from editor.usage.rollups import rollup_rebuild


class Command(BaseCommand):
    help = "Rebuild the usage rollups (UsageHour, UsageHourLatency) from the usage rows."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD (UTC)")
        parser.add_argument("--days", type=int, default=1, help="how many days (default 1)")

    def handle(self, *args, start: str, days: int, **options) -> None:
        try:
            first = date.fromisoformat(start)
        except ValueError:
            raise CommandError(f"--start must be a date like 2026-03-01, not {start!r}") from None
        if not 1 <= days <= 3660:
            raise CommandError("--days must be between 1 and 3660.")
        begin = datetime.combine(first, time.min, tzinfo=UTC)
        end = begin + timedelta(days=days)
        written = rollup_rebuild(start=begin, end=end)
        self.stdout.write(
            f"Rebuilt {begin:%Y-%m-%d} to {end:%Y-%m-%d}: {written['hours']} hour rows, "
            f"{written['latency']} latency rows."
        )
