"""login, logout, whoami; teams, rooms, room create."""

from __future__ import annotations

import click
from rich.table import Table

from .client import Api
from .common import json_option, with_api
from .config import Login, config_path, login_forget, login_save, server_normalize
from .errors import REFUSED, CliError
from .output import err, out, print_json
from .rooms import room_label, slugify, team_resolve


@click.command()
@click.argument("url")
@click.option("--token", help="A personal access token (else you are asked, without echo).")
@json_option
def login(url: str, token: str | None, as_json: bool) -> None:
    """Sign in to the Flint server at URL with a personal access token."""
    server = server_normalize(url)
    if not token:
        err.print(
            f"Create a token on your profile page, {server}accounts/profile/ "
            "(Access tokens), and paste it here."
        )
        token = click.prompt("Token", hide_input=True, err=True).strip()
    if not token:
        raise CliError("No token given; nothing was saved.", 2)
    with Api(Login(server=server, token=token)) as api:
        me = api.get("/me")
    path = login_save(Login(server=server, token=token, username=me["username"]))
    if as_json:
        print_json({"server": server, "user": me, "config": str(path)})
    else:
        out.print(f"Logged in to {server} as {me['display_name']} (@{me['username']}).")
        err.print(f"Saved to {path} (readable by you only).")


@click.command()
@json_option
def logout(as_json: bool) -> None:
    """Forget the saved server and token (the token stays valid until revoked)."""
    removed = login_forget()
    if as_json:
        print_json({"logged_out": removed, "config": str(config_path())})
    elif removed:
        out.print("Logged out. Revoke the token on your profile page if nothing else uses it.")
    else:
        out.print("You were not logged in.")


@click.command()
@json_option
@with_api
def whoami(api: Api, as_json: bool) -> None:
    """Who the saved token signs in as, and where."""
    me = api.get("/me")
    if as_json:
        print_json({"server": api.login.server, **me})
        return
    staff = " (staff)" if me.get("is_staff") else ""
    out.print(f"{me['display_name']} (@{me['username']}){staff} on {api.login.server}")


@click.command()
@json_option
@with_api
def teams(api: Api, as_json: bool) -> None:
    """Your teams and your role in each."""
    rows = api.get("/teams")
    if as_json:
        print_json([{**team, "slug": slugify(team["name"])} for team in rows])
        return
    table = Table("id", "team", "slug", "your role")
    for team in rows:
        table.add_row(str(team["id"]), team["name"], slugify(team["name"]), team["role"] or "")
    out.print(table if rows else "You are in no team yet: `flint room create` needs one.")


@click.command()
@json_option
@with_api
def rooms(api: Api, as_json: bool) -> None:
    """The rooms you can open, and your role in each."""
    rows = api.get("/rooms")
    if as_json:
        print_json([{**room, "ref": room_label(room)} for room in rows])
        return
    table = Table("id", "room", "team", "name it as", "your role")
    for room in rows:
        table.add_row(str(room["id"]), room["name"], room["team"]["name"], room_label(room),
                      room["role"] or "")  # fmt: skip
    out.print(table if rows else "No rooms yet. Create one: flint room create TEAM NAME")


@click.group()
def room() -> None:
    """Rooms: create."""


@room.command("create")
@click.argument("team_ref", metavar="TEAM")
@click.argument("name")
@json_option
@with_api
def room_create(api: Api, team_ref: str, name: str, as_json: bool) -> None:
    """Create a room called NAME in TEAM (id or slug); you become its first editor."""
    team = team_resolve(api, team_ref)
    created = api.post(f"/teams/{team['id']}/rooms", {"name": name})
    if as_json:
        print_json({**created, "ref": room_label(created)})
    else:
        out.print(f"Created room {created['name']} (id {created['id']}, {room_label(created)}).")


def register(cli: click.Group) -> None:
    for command in (login, logout, whoami, teams, rooms, room):
        cli.add_command(command)


__all__ = ["REFUSED", "register"]
