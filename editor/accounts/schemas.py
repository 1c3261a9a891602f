"""Request and response shapes of the accounts endpoints (people, access tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Schema
from pydantic import Field, field_validator

from editor.core.api import Name, not_bool


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


class TokenIn(Schema):
    name: Name
    days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        None, description="Lifetime in days (1-3650); omit for the server default"
    )

    _days_not_bool = field_validator("days", mode="before")(not_bool)


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
