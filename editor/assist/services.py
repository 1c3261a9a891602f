"""Writes for the assist features: routes, Q&A history, completion feedback."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from editor.assist.gateway import TIERS
from editor.assist.models import (
    CompletionFeedback,
    FeedbackEvent,
    QAKind,
    QAMessage,
    RoomModelRoute,
)
from editor.assist.router import FEATURE_TIERS
from editor.core.errors import Invalid
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require


@transaction.atomic
def room_route_set(
    *, room: Room, actor: AbstractBaseUser, feature: str, tier: str | None
) -> RoomModelRoute | None:
    """Send `feature` to `tier` in this room; None restores the default route."""
    require(actor, Action.ROOM_MANAGE, room)
    if feature not in FEATURE_TIERS:
        raise Invalid(f"Unknown feature {feature!r}; one of {', '.join(FEATURE_TIERS)}.")
    if tier is None:
        RoomModelRoute.objects.filter(room=room, feature=feature).delete()
        return None
    if tier not in TIERS:
        raise Invalid(f"Unknown model tier {tier!r}; one of {', '.join(TIERS)}.")
    route, _ = RoomModelRoute.objects.update_or_create(
        room=room, feature=feature, defaults={"tier": tier, "updated_by": actor}
    )
    return route


def qa_question_add(
    *, room_id: int, author_id: int, request_id: str, text: str, path: str
) -> QAMessage:
    return QAMessage.objects.create(
        room_id=room_id,
        author_id=author_id,
        kind=QAKind.QUESTION,
        request_id=request_id,
        text=text,
        path=path[:1024],
    )


def qa_answer_add(
    *,
    room_id: int,
    author_id: int,
    request_id: str,
    text: str,
    tier: str,
    model: str,
    status: str,
) -> QAMessage:
    """The answer as it ended: `status` is ok, cancelled or the error kind (text is partial)."""
    return QAMessage.objects.create(
        room_id=room_id,
        author_id=author_id,
        kind=QAKind.ANSWER,
        request_id=request_id,
        text=text,
        tier=tier,
        model=model[:200],
        status=status,
    )


def completion_feedback_record(
    *, user_id: int, room_id: int, request_id: str, event: str
) -> CompletionFeedback | None:
    """Record shown/accepted/dismissed once per completion; repeats are ignored."""
    if event not in FeedbackEvent.values:
        raise Invalid("Feedback is one of shown, accepted, dismissed.")
    try:
        with transaction.atomic():
            return CompletionFeedback.objects.create(
                user_id=user_id, room_id=room_id, request_id=request_id, event=event
            )
    except IntegrityError:
        return None
