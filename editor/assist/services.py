"""Writes for the assist features: routes, Q&A history, completion feedback."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from editor.assist.models import (
    CompletionFeedback,
    FeedbackEvent,
    QAKind,
    QAMessage,
    RoomModelRoute,
)
from editor.assist.router import FEATURE_TIERS
from editor.assist.selectors import completion_received
from editor.assist.tiers import TIERS
from editor.core.errors import Forbidden, Invalid
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
    error: str = "",
) -> QAMessage:
    """The answer as it ended: `status` is ok, cancelled or the error kind (text is partial);
    `error` the message the asker was shown (a refusal before any text: the only content)."""
    return QAMessage.objects.create(
        room_id=room_id,
        author_id=author_id,
        kind=QAKind.ANSWER,
        request_id=request_id,
        text=text,
        tier=tier,
        model=model[:200],
        status=status,
        error=error,
    )


_OUTCOMES = (FeedbackEvent.ACCEPTED, FeedbackEvent.DISMISSED)


def completion_feedback_record(
    *, user_id: int, room_id: int, request_id: str, event: str, received: bool = False
) -> CompletionFeedback | None:
    """Record shown/accepted/dismissed once per completion; repeats are ignored.

    Only the person who received the completion, in its room, reports on it (else anyone
    could skew the acceptance rate): `received` when their socket sent it (its usage row
    may not be written yet), else its usage row must say so. A completion has one outcome:
    accepted or dismissed, whichever came first.
    """
    if event not in FeedbackEvent.values:
        raise Invalid("Feedback is one of shown, accepted, dismissed.")
    if not received and not completion_received(
        user_id=user_id, room_id=room_id, request_id=request_id
    ):
        raise Forbidden("Feedback is only for completions you received in this room.")
    if (
        event in _OUTCOMES
        and CompletionFeedback.objects.filter(
            user_id=user_id, request_id=request_id, event__in=_OUTCOMES
        ).exists()
    ):
        return None
    try:
        with transaction.atomic():
            return CompletionFeedback.objects.create(
                user_id=user_id, room_id=room_id, request_id=request_id, event=event
            )
    except IntegrityError:
        return None
