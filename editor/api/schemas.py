"""Request and response shapes of the JSON API (they are also its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Schema
from pydantic import Field, field_validator

from editor.rooms.models import RoomRole, TeamRole
from editor.rooms.permissions import EffectiveRoomRole

# The role enums come from the models, so the schema cannot drift from them.
TeamRoleName = TeamRole
RoomRoleName = RoomRole
EffectiveRoomRoleName = EffectiveRoomRole


class ErrorOut(Schema):
    error: str = Field(description="A stable code: invalid, not_authenticated, forbidden, …")
    message: str = Field(description="What went wrong, to show to a person")
    detail: list[dict] | None = Field(None, description="Schema errors, for error=invalid")


# The bounds are in the schema so that the OpenAPI description tells clients (and
# fuzzers) the truth: 1-80 characters, not only spaces, no control characters. The
# pattern is documented but left to the services to enforce, whose messages ("Give the
# team a name.") read better than a regular expression.
NAME_PATTERN = r"^[^\x00-\x1f]*[^\s\x00-\x1f\x85][^\x00-\x1f]*$"
Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        description="1-80 characters, not blank, no control characters",
        json_schema_extra={"pattern": NAME_PATTERN},
    ),
]


def _not_bool(value: object) -> object:
    # Pydantic's lax mode reads JSON true as 1; strict mode would refuse 2.0, which JSON
    # Schema calls an integer. Refuse only the booleans. (A field_validator, not a
    # BeforeValidator in Annotated: with one, pydantic writes "ge" instead of "minimum"
    # into the JSON schema.)
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


# A PositiveIntegerField holds up to 2**31-1 on PostgreSQL; beyond that is a 500.
MAX_INVITE_USES = 1_000_000


# --- people ---------------------------------------------------------------------------


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    cursor_color: str


class MeOut(UserOut):
    is_staff: bool
    date_joined: datetime


class MePatch(Schema):
    display_name: str | None = Field(None, max_length=80)
    cursor_color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$", description="Like #3b82f6")


# --- tokens ---------------------------------------------------------------------------


class TokenIn(Schema):
    name: Name
    days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        None, description="Lifetime in days (1-3650); omit for the server default"
    )

    _days_not_bool = field_validator("days", mode="before")(_not_bool)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret; shown this once, store it now")


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

    _counts_not_bool = field_validator("ttl_hours", "max_uses", mode="before")(_not_bool)


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
