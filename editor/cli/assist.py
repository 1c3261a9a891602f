"""ask and edit: the fast model over the room socket, as the browser asks it."""

from __future__ import annotations

import re
import secrets
import sys
from typing import Any

import click

from .client import Api
from .common import json_option, room_option, with_api
from .errors import FAILED, REFUSED, SERVER, USAGE, CliError
from .output import err, out, print_json
from .rooms import room_resolve
from .roomsock import RoomSocket

REFUSAL_KINDS = {"forbidden", "quota", "rate_limited", "busy", "too_large", "invalid"}


def file_get(api: Api, room_id: int, path: str) -> dict[str, Any]:
    for meta in api.get(f"/rooms/{room_id}/files")["files"]:
        if meta["path"] == path or meta["path"].casefold() == path.casefold():
            return api.get(f"/rooms/{room_id}/files/{meta['id']}")
    raise CliError(f"No file {path} in this room. See `flint pull` for its files.", REFUSED,
                   error="not_found")  # fmt: skip


def stream(sock: RoomSocket, request: dict[str, Any], on_delta) -> dict[str, Any]:
    """Send an assist request and follow its frames to the end; Ctrl-C cancels it upstream
    (assist.cancel) and waits for the server to confirm."""
    request_id = request["request_id"]
    sock.send(request)
    cancelling = False
    while True:
        try:
            frame = sock.recv()
        except KeyboardInterrupt:
            if cancelling:
                raise
            sock.send({"type": "assist.cancel", "request_id": request_id})
            cancelling = True
            continue
        if frame is None or frame.get("request_id") != request_id:
            continue
        if frame.get("by") not in (None, sock.me["id"]):
            continue  # someone else's request under the same id
        kind = frame["type"]
        if kind == "assist.delta":
            on_delta(frame["text"])
        elif kind == "assist.done":
            if frame.get("status") == "cancelled":
                raise KeyboardInterrupt
            return frame
        elif kind == "assist.error":
            code = REFUSED if frame.get("kind") in REFUSAL_KINDS else SERVER
            raise CliError(frame.get("message") or "The model failed.", code,
                           error=frame.get("kind", "error"))  # fmt: skip


def _request_id() -> str:
    return "cli-" + secrets.token_hex(6)


@click.command()
@room_option
@click.argument("question")
@click.option("--file", "path", help="A file of the room the question is about.")
@json_option
@with_api
def ask(api: Api, room_ref: str, question: str, path: str | None, as_json: bool) -> None:
    """Ask the room's fast model; the answer streams here and the room sees it too."""
    room = room_resolve(api, room_ref)
    file_text = file_get(api, room["id"], path)["text"] or "" if path else ""
    with RoomSocket(api.login, room["id"]) as sock:
        request = {"type": "assist.ask", "request_id": _request_id(), "question": question,
                   "path": path or "", "file_text": file_text, "selection": ""}  # fmt: skip

        def show(text: str) -> None:
            if not as_json:
                sys.stdout.write(text)
                sys.stdout.flush()

        done = stream(sock, request, show)
    if as_json:
        print_json(
            {
                "question": question,
                "answer": done.get("text", ""),
                "model": done.get("model"),
                "tier": done.get("tier"),
                "usage": done.get("usage"),
            }
        )
    else:
        sys.stdout.write("\n")


SPEC = re.compile(r"^(?P<path>.+):(?P<start>\d+)(?:-(?P<end>\d+))?$")


@click.command()
@room_option
@click.argument("target", metavar="FILE:START-END")
@click.argument("instruction")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@json_option
@with_api
def edit(api: Api, room_ref: str, target: str, instruction: str, yes: bool,
         as_json: bool) -> None:  # fmt: skip
    """A quick edit of lines START-END of FILE; shown as a diff, applied on confirm."""
    match = SPEC.match(target)
    if not match:
        raise CliError(f"Name the lines as FILE:START-END (e.g. src/app.py:3-8), not {target}.",
                       USAGE)  # fmt: skip
    path, start = match["path"], int(match["start"])
    end = int(match["end"] or start)
    room = room_resolve(api, room_ref)
    current = file_get(api, room["id"], path)
    if current["text"] is None:
        raise CliError(f"{path} is not an editable text file.", REFUSED, error="read_only")
    lines = current["text"].splitlines(keepends=True)
    if not 1 <= start <= end <= max(len(lines), 1):
        raise CliError(f"{path} has {len(lines)} lines; {start}-{end} is outside them.", USAGE)
    before, selection = "".join(lines[: start - 1]), "".join(lines[start - 1 : end])
    after = "".join(lines[end:])
    if not as_json:
        for line in selection.splitlines():
            out.print(f"[red]- {line}[/]", markup=True, highlight=False)
    pending = {"line": ""}

    def show(text: str) -> None:  # stream the proposal as + lines, as it arrives
        if as_json:
            return
        for piece in re.split(r"(\n)", text):
            if piece == "\n":
                out.print(f"[green]+ {pending['line']}[/]", markup=True, highlight=False)
                pending["line"] = ""
            else:
                pending["line"] += piece

    with RoomSocket(api.login, room["id"]) as sock:
        request = {"type": "assist.edit", "request_id": _request_id(), "path": current["path"],
                   "selection": selection, "instruction": instruction, "before": before,
                   "after": after, "anchor": {"lines": [start, end]}}  # fmt: skip
        done = stream(sock, request, show)
    proposal = done.get("text", "")
    if pending["line"] and not as_json:
        out.print(f"[green]+ {pending['line']}[/]", markup=True, highlight=False)
    if selection.endswith("\n") and proposal and not proposal.endswith("\n"):
        proposal += "\n"
    apply_it = yes
    if not yes and sys.stdin.isatty():
        apply_it = click.confirm("Apply this edit?", default=True, err=True)
    result = {"path": current["path"], "lines": [start, end], "proposal": proposal,
              "applied": False}  # fmt: skip
    if apply_it:
        api.put(
            f"/rooms/{room['id']}/files/{current['id']}",
            {"text": before + proposal + after, "expected_sha256": current["sha256"]},
        )
        result["applied"] = True
    if as_json:
        print_json(result)
    elif apply_it:
        out.print(f"Applied to {current['path']}.")
    else:
        err.print("Not applied (add --yes to apply without being asked).")
    if not apply_it and not yes and not sys.stdin.isatty():
        sys.exit(FAILED)


def register(cli: click.Group) -> None:
    cli.add_command(ask)
    cli.add_command(edit)
