"""Request and response shapes of the teams, invites and rooms endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Schema
from pydantic import Field, field_validator

from editor.accounts.schemas import UserOut
from editor.core.api import Name, not_bool
from editor.rooms.models import RoomRole, TeamRole
from editor.rooms.permissions import EffectiveRoomRole

# The role enums come from the models, so the schema cannot drift from them.
TeamRoleName = TeamRole
RoomRoleName = RoomRole
EffectiveRoomRoleName = EffectiveRoomRole

# A PositiveIntegerField holds up to 2**31-1 on PostgreSQL; beyond that is a 500.
MAX_INVITE_USES = 1_000_000


# --- teams ----------------------------------------------------------------------------


class TeamIn(Schema):
    name: Name


class TeamOut(Schema):
    id: int
    name: str
    created_at: datetime
    role: TeamRoleName | None = Field(description="Your role in the team")


class TeamMemberIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    role: TeamRoleName = TeamRole.MEMBER


class TeamRoleIn(Schema):
    role: TeamRoleName


class TeamMemberOut(Schema):
    user: UserOut
    role: TeamRoleName
    joined_at: datetime


class InviteIn(Schema):
    # Bounds here too: the service reads ttl_hours=0 as "the default", which would
    # surprise a client that asked for zero.
    ttl_hours: Annotated[int, Field(ge=1, le=24 * 30)] | None = Field(
        None, description="Hours the link works (1-720); omit for the server default"
    )
    max_uses: int = Field(
        0, ge=0, le=MAX_INVITE_USES, description="How many people may join; 0 means unlimited"
    )

    _counts_not_bool = field_validator("ttl_hours", "max_uses", mode="before")(not_bool)


class InviteOut(Schema):
    id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    max_uses: int
    uses: int
    created_by: str | None


class InviteCreatedOut(InviteOut):
    token: str = Field(description="The invite secret; shown this once")
    link: str = Field(description="The page a person opens to join; shown this once")


# --- rooms ----------------------------------------------------------------------------


class TeamRef(Schema):
    id: int
    name: str


class RoomIn(Schema):
    name: Name


class RoomOut(Schema):
    id: int
    name: str
    team: TeamRef
    created_at: datetime
    role: EffectiveRoomRoleName | None = Field(
        description="What you may do here: admin (team owner), editor or viewer"
    )


class RoomMemberIn(Schema):
    role: RoomRoleName


class RoomMemberOut(Schema):
    user: UserOut
    role: RoomRoleName
    added_at: datetime
