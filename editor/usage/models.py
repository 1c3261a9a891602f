from __future__ import annotations

from django.conf import settings
from django.db import models


class UsageStatus(models.TextChoices):
    OK = "ok", "Completed"
    ERROR = "error", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    REFUSED = "refused", "Refused (quota)"


class UsageEvent(models.Model):
    """One model call: who, where, which model, how many tokens, how fast, how it ended.

    Rows are written once and never updated; the dashboard (issue 7) aggregates them.
    Team and room are kept as plain ids beside the foreign keys' SET_NULL so that usage
    survives a deleted room and can still be attributed to its team.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "rooms.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    room = models.ForeignKey(
        "rooms.Room", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tier = models.CharField(max_length=16)
    model = models.CharField(max_length=200)
    feature = models.CharField(max_length=32)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    # db_default too: raw inserts that predate these columns (bench/usage_bench.py's COPY)
    # still get 0 from the database.
    cached_tokens = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Prompt tokens the server read from its prompt cache (of prompt).",
    )
    reasoning_tokens = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Completion tokens spent on hidden reasoning (of completion).",
    )
    tokens_estimated = models.BooleanField(
        default=False, help_text="The server sent no usage; counts were estimated locally."
    )
    ttft_ms = models.FloatField(null=True, blank=True)
    duration_ms = models.FloatField(default=0)
    tokens_per_s = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=UsageStatus.choices)
    error_kind = models.CharField(max_length=32, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    task_id = models.BigIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["team", "created_at"], name="usage_team_time"),
            models.Index(fields=["user", "created_at"], name="usage_user_time"),
            models.Index(fields=["room", "created_at"], name="usage_room_time"),
            models.Index(fields=["tier", "model", "created_at"], name="usage_model_time"),
            models.Index(fields=["feature", "created_at"], name="usage_feature_time"),
            models.Index(fields=["task_id"], name="usage_task"),
            # The dashboard's percentiles read (tier, model, value) in order within a range.
            models.Index(fields=["tier", "model", "ttft_ms"], name="usage_ttft"),
            models.Index(fields=["status", "created_at"], name="usage_status_time"),
        ]

    def __str__(self) -> str:
        return f"{self.feature} on {self.model} ({self.status})"


class ModelPrice(models.Model):
    """What a model costs, for the dashboard's estimate; edited by staff in the admin."""

    model = models.CharField(max_length=200, unique=True, help_text="As recorded in usage.")
    prompt_usd_per_million = models.DecimalField(
        "$ per 1M prompt tokens", max_digits=12, decimal_places=4, default=0
    )
    completion_usd_per_million = models.DecimalField(
        "$ per 1M completion tokens", max_digits=12, decimal_places=4, default=0
    )
    cached_prompt_usd_per_million = models.DecimalField(
        "$ per 1M cached prompt tokens",
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Prompt tokens served from the prompt cache. Blank: the prompt price.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model


def _default_help(variable: str) -> str:
    return f"Blank: the default from settings ({variable}). 0: no limit."


class UserLimit(models.Model):
    """A person's own rate limits, overriding the defaults from settings."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage_limit"
    )
    requests_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_default_help("FLINT_QUOTA_USER_REQUESTS_PER_MINUTE"),
    )
    concurrent_streams = models.PositiveIntegerField(
        null=True, blank=True, help_text=_default_help("FLINT_QUOTA_USER_CONCURRENT_STREAMS")
    )

    def __str__(self) -> str:
        return f"limits of {self.user}"


class TeamLimit(models.Model):
    """A team's token budgets: per calendar month (UTC) and per deep task."""

    team = models.OneToOneField("rooms.Team", on_delete=models.CASCADE, related_name="usage_limit")
    monthly_tokens = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_default_help("FLINT_QUOTA_TEAM_MONTHLY_TOKENS")
    )
    task_tokens = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_default_help("FLINT_QUOTA_TASK_TOKENS")
    )

    def __str__(self) -> str:
        return f"budgets of {self.team}"


class UsageHour(models.Model):
    """The usage rows of one hour rolled up per team, user, tier, model, feature, outcome.

    Written in the same transaction as each usage row (editor/usage/rollups.py), rebuilt
    from the rows for back-fills (`manage.py usage_rollup`). Team and user are plain ids
    with 0 for none, so the unique key (and ON CONFLICT) treats "no team" as one value.
    """

    hour = models.DateTimeField()
    team_id = models.BigIntegerField(default=0)
    user_id = models.BigIntegerField(default=0)
    tier = models.CharField(max_length=16)
    model = models.CharField(max_length=200)
    feature = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=UsageStatus.choices)
    error_kind = models.CharField(max_length=32, blank=True, default="")
    requests = models.PositiveBigIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0, db_default=0)
    reasoning_tokens = models.PositiveBigIntegerField(default=0, db_default=0)
    duration_ms = models.FloatField(default=0, help_text="Sum over the requests.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "hour", "team_id", "user_id", "tier", "model", "feature", "status",
                    "error_kind",
                ],
                name="usage_hour_key",
            )
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["team_id", "hour"], name="usage_hour_team"),
            models.Index(fields=["user_id", "hour"], name="usage_hour_user"),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.model} {self.status}"


class UsageHourLatency(models.Model):
    """Completed calls of one hour per team, tier, model, feature, counted in fixed
    latency buckets (editor/usage/buckets.py): the dashboard's percentiles and histogram.

    No user dimension: with it the table is as long as UsageHour and summing its ~80
    count columns over a 30-day range cost 0.6 s on SQLite; a per-person view reads the
    person's raw rows instead (indexed by user and time).
    """

    hour = models.DateTimeField()
    team_id = models.BigIntegerField(default=0)
    tier = models.CharField(max_length=16)
    model = models.CharField(max_length=200)
    feature = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "team_id", "tier", "model", "feature"],
                name="usage_hour_latency_key",
            )
        ]
        indexes = [models.Index(fields=["team_id", "hour"], name="usage_hour_latency_team")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.model} latency"


def _add_bucket_columns() -> None:
    from editor.usage.buckets import METRICS, columns

    for metric in METRICS:
        for name in columns(metric):
            UsageHourLatency.add_to_class(name, models.PositiveIntegerField(default=0))


_add_bucket_columns()
