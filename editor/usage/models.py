from __future__ import annotations

from django.conf import settings
from django.db import models


class UsageStatus(models.TextChoices):
    OK = "ok", "Completed"
    ERROR = "error", "Failed"
    CANCELLED = "cancelled", "Cancelled"


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
        ]

    def __str__(self) -> str:
        return f"{self.feature} on {self.model} ({self.status})"
