"""Reads for the assist features: room routes, Q&A history, acceptance rate."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from editor.accounts.presenters import user_out
from editor.assist.models import CompletionFeedback, FeedbackEvent, QAMessage, RoomModelRoute
from editor.usage.models import UsageEvent
from editor.usage.selectors import UsageFilters, usage_events


def completion_received(*, user_id: int, room_id: int, request_id: str) -> bool:
    """Whether this user was sent text of this inline completion in this room (its usage
    row: the request's owner, with tokens that came back)."""
    return UsageEvent.objects.filter(
        user_id=user_id,
        room_id=room_id,
        request_id=request_id,
        feature="inline_completion",
        completion_tokens__gt=0,
    ).exists()


def room_routes_get(*, room_id: int) -> dict[str, str]:
    return dict(RoomModelRoute.objects.filter(room_id=room_id).values_list("feature", "tier"))


def _present(message: QAMessage, names: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": message.pk,
        "kind": message.kind,
        "request_id": message.request_id,
        "text": message.text,
        "path": message.path,
        "who": names.get(message.author_id),
        "tier": message.tier,
        "model": message.model,
        "status": message.status,
        "error": message.error,
        "created_at": message.created_at.isoformat(),
    }


def qa_history_list(
    *, room_id: int, limit: int, before_id: int | None = None
) -> list[dict[str, Any]]:
    """The latest `limit` Q&A messages (before `before_id`), oldest first, ready to send."""
    query = QAMessage.objects.filter(room_id=room_id).select_related("author__profile")
    if before_id is not None:
        query = query.filter(pk__lt=before_id)
    rows = list(query.order_by("-created_at", "-id")[:limit])
    rows.reverse()
    # Who asked, as the live frames name them (the room socket's `who`): display name
    # and cursor colour from the profile, not the username.
    names = {}
    for row in rows:
        if row.author_id is not None and row.author_id not in names:
            person = user_out(row.author)
            names[row.author_id] = {
                "id": person["id"],
                "username": person["username"],
                "name": person["display_name"],
                "color": person["cursor_color"],
            }
    return [_present(row, names) for row in rows]


def qa_turns_for_prompt(*, room_id: int, limit: int = 8) -> list[dict[str, str]]:
    """Recent finished turns as chat messages, for the model's memory of the conversation."""
    rows = list(
        QAMessage.objects.filter(room_id=room_id)
        .order_by("-created_at", "-id")
        .values("kind", "text")[:limit]
    )
    rows.reverse()
    return [
        {"role": "user" if row["kind"] == "question" else "assistant", "content": row["text"]}
        for row in rows
        if row["text"]
    ]


def completion_acceptance(
    *, filters: UsageFilters | None = None, room_id: int | None = None
) -> dict[str, Any]:
    """Inline completions shown, accepted and dismissed, and the rate accepted / shown:
    in one room, and/or within the usage dashboard's filters (its figure "acceptance").

    Feedback rows carry no tier or model: with those filters, only feedback on a
    completion whose usage row matches counts.
    """
    feedback = CompletionFeedback.objects.all()
    if room_id is not None:
        feedback = feedback.filter(room_id=room_id)
    if filters is not None:
        feedback = _within(feedback, filters)
    counts = feedback.aggregate(
        **{event: Count("id", filter=Q(event=event)) for event in FeedbackEvent.values}
    )
    shown = counts[FeedbackEvent.SHOWN]
    return {**counts, "rate": counts[FeedbackEvent.ACCEPTED] / shown if shown else None}


def _within(feedback: QuerySet[CompletionFeedback], filters: UsageFilters) -> QuerySet:
    feedback = feedback.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    if filters.scope is not None:
        feedback = feedback.filter(room__team_id__in=filters.scope)
    if filters.team_id is not None:
        feedback = feedback.filter(room__team_id=filters.team_id)
    if filters.user_id is not None:
        feedback = feedback.filter(user_id=filters.user_id)
    if filters.feature and filters.feature != "inline_completion":
        feedback = feedback.none()
    if filters.tier or filters.model:
        matching = usage_events(filters=filters).filter(feature="inline_completion")
        feedback = feedback.filter(request_id__in=matching.values("request_id"))
    return feedback
