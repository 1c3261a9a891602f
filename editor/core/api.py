"""Pieces every app's api.py shares: the error answers and the name field.

Each app owns its endpoints (`editor/<app>/api.py`); editor/api/api.py only mounts them
under one NinjaAPI with one authentication and one error shape.
"""

from __future__ import annotations

from typing import Annotated

from ninja import Schema
from pydantic import Field


class ErrorOut(Schema):
    error: str = Field(description="A stable code: invalid, not_authenticated, forbidden, …")
    message: str = Field(description="What went wrong, to show to a person")
    detail: list[dict] | None = Field(None, description="Schema errors, for error=invalid")


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error answers of an endpoint, for the OpenAPI description; 400 and 401 apply
    to all of them."""
    return {status: ErrorOut for status in (400, 401, *statuses)}


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


def not_bool(value: object) -> object:
    """A `field_validator(..., mode="before")` for integer fields: refuse true/false.

    Pydantic's lax mode reads JSON true as 1; strict mode would refuse 2.0, which JSON
    Schema calls an integer. Refuse only the booleans. (A field_validator, not a
    BeforeValidator in Annotated: with one, pydantic writes "ge" instead of "minimum"
    into the JSON schema.)
    """
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value
