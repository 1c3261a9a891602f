"""Options and helpers every command shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from .client import Api
from .config import login_load

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
room_option = click.option(
    "--room", "-r", "room_ref", required=True, metavar="ROOM", help="Room id or team/room."
)


def api_open() -> Api:
    return Api(login_load())


def with_api(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give the command a logged-in `api` and close it after."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with api_open() as api:
            return func(api, *args, **kwargs)

    return wrapper
