"""Deep tasks (start, follow, list, show, apply, stop) and reviews, through the JSON API;
--follow reads the room socket's task events (docs/AGENTS.md, docs/PROTOCOL.md)."""

from __future__ import annotations

import time
from typing import Any

import click
from rich.table import Table

from .client import Api
from .common import json_option, with_api
from .errors import FAILED, REFUSED, USAGE, CliError
from .output import err, out, print_json, print_json_line
from .rooms import room_resolve
from .roomsock import RoomSocket

ENDED = {"succeeded", "failed", "cancelled"}
STOP_WAIT_S = 10.0


class TaskGroup(click.Group):
    """`flint task "prompt"` starts a task; `flint task show|apply|stop ID` act on one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["start", *args]
        return super().parse_args(ctx, args)


def _room_of_task(api: Api, room_ref: str | None, task_id: int) -> dict[str, Any]:
    """The room holding the task: the named one, or the first of yours that has it."""
    if room_ref:
        return room_resolve(api, room_ref)
    for room in api.get("/rooms"):
        try:
            api.get(f"/rooms/{room['id']}/tasks/{task_id}")
        except CliError:
            continue
        return room
    raise CliError(f"No task {task_id} in any of your rooms.", REFUSED, error="not_found")


def _show_diff(changes: list[dict[str, Any]]) -> None:
    for change in changes:
        out.print(f"[bold]{change['change']} {change['path']}[/] ({change['status']}, "
                  f"+{change['added']} -{change['removed']})")  # fmt: skip
        for line in change["diff"].splitlines():
            colour = ("green" if line.startswith("+") else "red" if line.startswith("-")
                      else "cyan" if line.startswith("@@") else "")  # fmt: skip
            out.print(f"[{colour}]{line}[/]" if colour else line, markup=bool(colour),
                      highlight=False)  # fmt: skip


def _show_step(task: int, step: dict[str, Any], many: bool) -> None:
    who = f"[dim]#{task}[/] " if many else ""
    kind = step["kind"]
    if kind == "tool_call":
        out.print(f"{who}[yellow]▶ {step['text']}[/]")
    elif kind == "tool_result":
        out.print(f"{who}[dim]  {step['text']}[/]")
    elif kind == "error":
        out.print(f"{who}[red]{step['text']}[/]")
    else:
        out.print(f"{who}{step['text']}", markup=False, highlight=False)


def _follow(api: Api, sock: RoomSocket, room_id: int, ids: list[int], as_json: bool) -> dict:
    """Print each task's log as it happens until all end; Ctrl-C stops them upstream."""
    seen: dict[int, int] = dict.fromkeys(ids, 0)
    status: dict[int, str] = {}
    for task_id in ids:  # steps stored before we listened
        detail = api.get(f"/rooms/{room_id}/tasks/{task_id}")
        status[task_id] = detail["status"]
        for step in detail["steps"]:
            seen[task_id] = max(seen[task_id], step["seq"])
            _emit_step(task_id, step, len(ids) > 1, as_json)
    stop_at: float | None = None
    while any(status[t] not in ENDED for t in ids):
        try:
            frame = sock.recv()
        except KeyboardInterrupt:
            if stop_at is not None:
                raise
            err.print("Stopping the task…")
            for task_id in ids:
                if status[task_id] not in ENDED:
                    api.post(f"/rooms/{room_id}/tasks/{task_id}/cancel")
            stop_at = time.monotonic()
            continue
        if stop_at is not None and time.monotonic() - stop_at > STOP_WAIT_S:
            raise KeyboardInterrupt
        if frame is None:
            continue
        if frame["type"] == "task.step" and frame["task"] in seen:
            if frame["step"]["seq"] > seen[frame["task"]]:
                seen[frame["task"]] = frame["step"]["seq"]
                _emit_step(frame["task"], frame["step"], len(ids) > 1, as_json)
        elif frame["type"] == "task.status" and frame["task"]["id"] in status:
            status[frame["task"]["id"]] = frame["task"]["status"]
    if stop_at is not None:
        raise KeyboardInterrupt
    return status


def _emit_step(task_id: int, step: dict[str, Any], many: bool, as_json: bool) -> None:
    if as_json:
        print_json_line({"event": "step", "task": task_id, **step})
    else:
        _show_step(task_id, step, many)


def _apply(api: Api, room_id: int, task_id: int, paths: list[str]) -> dict[str, Any]:
    return api.post(f"/rooms/{room_id}/tasks/{task_id}/apply",
                    {"paths": list(paths)} if paths else {})  # fmt: skip


def _report_apply(result: dict[str, Any]) -> None:
    for item in result["files"]:
        colour = "green" if item["status"] == "applied" else "red"
        note = f" ({item['error']})" if item.get("error") else ""
        if item["status"] == "conflict":
            note = f" ({len(item['conflicts'])} conflicting regions: resolve in the browser)"
        out.print(f"[{colour}]{item['status']}[/] {item['path']}{note}")


@click.group(cls=TaskGroup)
def task() -> None:
    """Deep tasks: `flint task --room R "prompt"`, or show / apply / stop ID."""


@task.command("start", hidden=True)
@click.option("--room", "-r", "room_ref", required=True, metavar="ROOM")
@click.argument("prompt")
@click.option("--scope", multiple=True, metavar="PATH", help="Limit the task to these paths.")
@click.option("--attempts", type=click.IntRange(1, 4), default=1, help="Variants to run (1-4).")
@click.option("--follow", "-f", is_flag=True, help="Stream the log, then show the diff.")
@click.option("--apply", "apply_", is_flag=True, help="Apply the changes when it succeeds.")
@json_option
@with_api
def task_start(api: Api, room_ref: str, prompt: str, scope: tuple[str, ...], attempts: int,
               follow: bool, apply_: bool, as_json: bool) -> None:  # fmt: skip
    """Start a deep task."""
    if apply_ and attempts > 1:
        raise CliError("--apply needs one attempt: pick a variant in the browser.", USAGE)
    room = room_resolve(api, room_ref)
    body: dict[str, Any] = {"prompt": prompt, "attempts": attempts}
    if scope:
        body["scope"] = list(scope)
    if not (follow or apply_):
        started = api.post(f"/rooms/{room['id']}/tasks", body)
        ids = [t["id"] for t in started["tasks"]]
        if as_json:
            print_json(started)
        else:
            out.print(f"Started task {', '.join(map(str, ids))}. Follow it: "
                      f"flint task show {ids[0]} --room {room['id']}")  # fmt: skip
        return
    with RoomSocket(api.login, room["id"]) as sock:  # listen first: no step is missed
        started = api.post(f"/rooms/{room['id']}/tasks", body)
        ids = [t["id"] for t in started["tasks"]]
        if not as_json:
            err.print(f"Task {', '.join(map(str, ids))} started. Ctrl-C stops it.")
        status = _follow(api, sock, room["id"], ids, as_json)
    details = [api.get(f"/rooms/{room['id']}/tasks/{t}") for t in ids]
    applied = None
    if apply_ and status[ids[0]] == "succeeded":
        applied = _apply(api, room["id"], ids[0], [])
    if as_json:
        print_json({"tasks": details, "applied": applied})
    else:
        for detail in details:
            _summary(detail)
            _show_diff(detail["changes"])
        if applied:
            _report_apply(applied)
    if any(status[t] != "succeeded" for t in ids):
        raise SystemExit(FAILED)


def _summary(detail: dict[str, Any]) -> None:
    colour = {"succeeded": "green", "failed": "red", "cancelled": "yellow"}.get(detail["status"])
    line = f"Task {detail['id']}: [{colour or 'white'}]{detail['status']}[/]"
    if detail["summary"]:
        line += f" — {detail['summary']}"
    if detail["error_message"]:
        line += f" ({detail['error_kind']}: {detail['error_message']})"
    out.print(line)


@task.command("show")
@click.argument("task_id", type=int)
@click.option("--room", "-r", "room_ref", metavar="ROOM", help="Room id or team/room.")
@json_option
@with_api
def task_show(api: Api, task_id: int, room_ref: str | None, as_json: bool) -> None:
    """A task's status, log and diff."""
    room = _room_of_task(api, room_ref, task_id)
    detail = api.get(f"/rooms/{room['id']}/tasks/{task_id}")
    if as_json:
        print_json(detail)
        return
    for step in detail["steps"]:
        _show_step(task_id, step, False)
    _summary(detail)
    _show_diff(detail["changes"])


@task.command("apply")
@click.argument("task_id", type=int)
@click.option("--file", "paths", multiple=True, metavar="PATH", help="Only these files.")
@click.option("--room", "-r", "room_ref", metavar="ROOM", help="Room id or team/room.")
@json_option
@with_api
def task_apply(api: Api, task_id: int, paths: tuple[str, ...], room_ref: str | None,
               as_json: bool) -> None:  # fmt: skip
    """Apply a task's changes (all, or --file F ...) to the room's live files."""
    room = _room_of_task(api, room_ref, task_id)
    result = _apply(api, room["id"], task_id, list(paths))
    if as_json:
        print_json(result)
    else:
        _report_apply(result)
    if any(item["status"] != "applied" for item in result["files"]):
        raise SystemExit(FAILED)


@task.command("stop")
@click.argument("task_id", type=int)
@click.option("--room", "-r", "room_ref", metavar="ROOM", help="Room id or team/room.")
@json_option
@with_api
def task_stop(api: Api, task_id: int, room_ref: str | None, as_json: bool) -> None:
    """Stop a queued or running task (changes so far are kept)."""
    room = _room_of_task(api, room_ref, task_id)
    stopped = api.post(f"/rooms/{room['id']}/tasks/{task_id}/cancel")
    deadline = time.monotonic() + STOP_WAIT_S
    while stopped["status"] not in ENDED and time.monotonic() < deadline:
        time.sleep(0.2)
        stopped = api.get(f"/rooms/{room['id']}/tasks/{task_id}")
    if as_json:
        print_json(stopped)
    else:
        out.print(f"Task {task_id}: {stopped['status']}.")


@click.command()
@click.option("--room", "-r", "room_ref", required=True, metavar="ROOM")
@json_option
@with_api
def tasks(api: Api, room_ref: str, as_json: bool) -> None:
    """The room's deep tasks, newest first."""
    room = room_resolve(api, room_ref)
    rows = api.get(f"/rooms/{room['id']}/tasks")
    if as_json:
        print_json(rows)
        return
    table = Table("id", "status", "by", "steps", "tokens", "prompt")
    for row in rows:
        cells = (row["id"], row["status"], row["created_by"] or "", row["steps_used"],
                 row["tokens_used"], row["prompt"][:60])  # fmt: skip
        table.add_row(*(str(cell) for cell in cells))
    out.print(table if rows else "No tasks in this room yet.")


@click.command()
@click.option("--room", "-r", "room_ref", required=True, metavar="ROOM")
@click.argument("path", required=False)
@click.option("--task", "task_id", type=int, help="Review a finished task's proposal instead.")
@json_option
@with_api
def review(api: Api, room_ref: str, path: str | None, task_id: int | None,
           as_json: bool) -> None:  # fmt: skip
    """Ask the review model about PATH (its live text) or a task; prints path:line: text."""
    if bool(path) == bool(task_id):
        raise CliError("Review either a PATH or --task ID.", USAGE)
    room = room_resolve(api, room_ref)
    body = {"target": "file", "path": path} if path else {"target": "task", "task_id": task_id}
    run = api.post(f"/rooms/{room['id']}/reviews", body)
    with err.status("Reviewing…") if not as_json else _nothing():
        while run["status"] not in ENDED:
            time.sleep(0.25)
            run = api.get(f"/rooms/{room['id']}/reviews/{run['id']}")
    if as_json:
        print_json(run)
    else:
        for c in run.get("comments", []):
            out.print(f"{c['path']}:{c['line']}: {c['severity']}: {c['body']}", markup=False,
                      highlight=False)  # fmt: skip
        if run["status"] == "succeeded" and not run.get("comments"):
            err.print("No comments.")
    if run["status"] != "succeeded":
        raise CliError(f"The review {run['status']}: {run['error_message'] or run['error_kind']}.",
                       FAILED, error=run["error_kind"] or "failed")  # fmt: skip


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def register(cli: click.Group) -> None:
    for command in (task, tasks, review):
        cli.add_command(command)
