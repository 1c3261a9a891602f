"""`flint sync DIR --room R`: run the engine until Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import click

from ..common import json_option, room_option, with_api
from ..output import err, out, print_json_line
from ..rooms import room_label, room_resolve
from .engine import SyncEngine

ARROWS = {"up": "[green]↑[/]", "down": "[cyan]↓[/]", "created-remote": "[green]+[/] room:",
          "created-local": "[cyan]+[/]", "deleted-remote": "[red]-[/] room:",
          "deleted-local": "[red]-[/]", "moved-remote": "[yellow]→[/] room:",
          "moved-local": "[yellow]→[/]"}  # fmt: skip


def _emitter(as_json: bool):
    def emit(event: str, data: dict[str, Any]) -> None:
        if as_json:
            print_json_line({"event": event, **data})
            return
        if event == "ready":
            err.print(f"Syncing {data['files']} files. Ctrl-C stops.")
        elif event == "offline":
            err.print("[yellow]Offline[/]: edits are kept and merge when the server is back.")
        elif event == "online":
            err.print("[green]Back online[/]: merging what changed meanwhile.")
        elif event == "error":
            err.print(f"[red]{data['message']}[/]")
        else:
            src = f"{data['src']} → " if "src" in data else ""
            out.print(f"{ARROWS.get(event, event)} {src}{data.get('path', '')}")

    return emit


async def _run(engine: SyncEngine) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, engine.stop)
    await engine.run()


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@room_option
@json_option
@with_api
def sync(api, folder: Path, room_ref: str, as_json: bool) -> None:
    """Keep FOLDER and a room in live two-way sync until Ctrl-C.

    Saves in any editor become edits of the room's live documents; edits in the room
    rewrite the local files. Creates, deletes and renames follow both ways.
    """
    room = room_resolve(api, room_ref)
    if room.get("role") == "viewer":
        err.print("You are a viewer here: room edits reach this folder, yours stay local.")
    root = folder.resolve()
    root.mkdir(parents=True, exist_ok=True)
    if not as_json:
        err.print(f"{root} ⇄ {room['name']} ({room_label(room)}) on {api.login.server}")
    engine = SyncEngine(login=api.login, room=room, root=root, emit=_emitter(as_json))
    asyncio.run(_run(engine))
    if not as_json:
        err.print("Stopped syncing.")
    sys.stdout.flush()


def register(cli: click.Group) -> None:
    cli.add_command(sync)
