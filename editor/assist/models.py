from __future__ import annotations

from django.conf import settings
from django.db import models


class RoomModelRoute(models.Model):
    """A room's override of the router: this feature goes to that tier in this room."""

    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="+")
    feature = models.CharField(max_length=32)
    tier = models.CharField(max_length=16)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("room", "feature", name="assist_route_unique_feature")
        ]

    def __str__(self) -> str:
        return f"{self.room_id}: {self.feature} → {self.tier}"


class QAKind(models.TextChoices):
    QUESTION = "question", "Question"
    ANSWER = "answer", "Answer"


class QAMessage(models.Model):
    """The room's shared Q&A: a question and, after it, the streamed answer as it ended."""

    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=QAKind.choices)
    request_id = models.CharField(max_length=64)
    text = models.TextField()
    path = models.CharField(max_length=1024, blank=True, default="")
    tier = models.CharField(max_length=16, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    # For answers: ok, or the error kind that cut it short (the text is then partial).
    status = models.CharField(max_length=32, blank=True, default="")
    # For answers that failed or were refused (a quota): the message the asker was shown,
    # so the history says what was seen live.
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["room", "created_at"], name="assist_qa_room_time")]

    def __str__(self) -> str:
        return f"{self.kind} in room {self.room_id}"


class FeedbackEvent(models.TextChoices):
    SHOWN = "shown", "Shown"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class CompletionFeedback(models.Model):
    """What became of an inline completion: the acceptance rate is accepted / shown."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    room = models.ForeignKey("rooms.Room", null=True, on_delete=models.SET_NULL, related_name="+")
    request_id = models.CharField(max_length=64)
    event = models.CharField(max_length=16, choices=FeedbackEvent.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "user", "request_id", "event", name="assist_feedback_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["room", "created_at"], name="assist_fb_room_time")]

    def __str__(self) -> str:
        return f"{self.event} {self.request_id}"
