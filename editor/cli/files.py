"""push (a folder into a room, through the two-step upload) and pull (the live files out)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from .client import Api
from .common import json_option, room_option, with_api
from .errors import FAILED, USAGE, CliError
from .ignore import walk
from .localfs import write_atomic
from .output import err, out, print_json
from .rooms import room_label, room_resolve


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=err, transient=True, disable=not sys.stderr.isatty(),
    )  # fmt: skip


class _Counted(io.RawIOBase):
    """A file whose reads advance a progress bar (httpx reads multipart files in chunks)."""

    def __init__(self, path: Path, progress: Progress, task: Any) -> None:
        self.handle = path.open("rb")
        self.progress, self.task = progress, task

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        # httpx sizes a multipart body from its files' fstat: without a length it would
        # send the body chunked, which Django reads as empty.
        return self.handle.fileno()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.progress.advance(self.task, len(data))
        return data

    def close(self) -> None:
        self.handle.close()
        super().close()


def push_plan(api: Api, room_id: int, root: Path) -> dict[str, Any]:
    """Compare the folder with the room's listing: what a push would add or change."""
    kept, skipped = walk(root)
    remote = {f["path"].casefold(): f for f in api.get(f"/rooms/{room_id}/files")["files"]}
    plan: dict[str, list[str]] = {"added": [], "changed": [], "unchanged": [], "skipped": skipped}
    for rel in kept:
        current = remote.get(rel.casefold())
        if current is None:
            plan["added"].append(rel)
        elif current["sha256"] == sha256_of(root / rel) and current["path"] == rel:
            plan["unchanged"].append(rel)
        else:
            plan["changed"].append(rel)
    return plan


def _show_plan(plan: dict[str, list[str]], room: dict[str, Any]) -> None:
    out.print(f"Push to {room['name']} ({room_label(room)}):")
    colours = {"added": "green", "changed": "yellow", "unchanged": "dim", "skipped": "dim"}
    for bucket, colour in colours.items():
        paths = plan[bucket]
        out.print(f"  [{colour}]{bucket:9}[/] {len(paths)}")
        if bucket in ("added", "changed"):
            for rel in paths[:20]:
                out.print(f"    [{colour}]{rel}[/]")
            if len(paths) > 20:
                out.print(f"    … and {len(paths) - 20} more")


def _upload(api: Api, room_id: int, root: Path, paths: list[str]) -> dict[str, Any]:
    total = sum((root / rel).stat().st_size for rel in paths)
    with _progress() as progress:
        task = progress.add_task("upload", total=total)
        handles = [_Counted(root / rel, progress, task) for rel in paths]
        try:
            files = [
                ("files", (Path(rel).name, handle))
                for rel, handle in zip(paths, handles, strict=True)
            ]
            upload = api.post(
                f"/rooms/{room_id}/files/uploads",
                files=files,
                data={"paths": json.dumps(paths), "skip_ignored": "true"},
                timeout=None,
            )
        finally:
            for handle in handles:
                handle.close()
        if upload["status"] != "ready":
            ingest = progress.add_task("ingest", total=upload["progress_total"] or None)
            upload = _wait_staged(api, room_id, upload, progress, ingest)
    return upload


def _wait_staged(api: Api, room_id: int, upload: dict, progress: Progress, task: Any) -> dict:
    """A large upload is staged by a worker: follow its progress until it is ready."""
    while upload["status"] not in ("ready", "failed", "cancelled", "expired", "applied"):
        time.sleep(0.3)
        upload = api.get(f"/rooms/{room_id}/files/uploads/{upload['id']}")
        progress.update(task, completed=upload["progress_done"],
                        total=upload["progress_total"] or None)  # fmt: skip
    if upload["status"] != "ready":
        raise CliError(f"The upload {upload['status']}: {upload['error'] or 'no reason given'}.")
    return upload


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@room_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask before applying.")
@json_option
@with_api
def push(api: Api, folder: Path, room_ref: str, yes: bool, as_json: bool) -> None:
    """Upload FOLDER into a room (skipping .gitignore'd and .flintignore'd files)."""
    room = room_resolve(api, room_ref)
    root = folder.resolve()
    plan = push_plan(api, room["id"], root)
    to_send = plan["added"] + plan["changed"]
    summary = {bucket: len(paths) for bucket, paths in plan.items()}
    if not as_json:
        _show_plan(plan, room)
    if not to_send:
        if as_json:
            print_json({"room": room["id"], "plan": summary, "applied": False})
        else:
            out.print("Nothing to push: the room already has these files.")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise CliError("Add --yes to push without being asked (stdin is not a terminal).",
                           USAGE)  # fmt: skip
        if not click.confirm(f"Push {len(to_send)} files?", default=True, err=True):
            raise CliError("Nothing was pushed.", FAILED, error="declined")
    upload = _upload(api, room["id"], root, to_send)
    applied = api.post(f"/rooms/{room['id']}/files/uploads/{upload['id']}/confirm")
    counts = applied["plan"]["counts"]
    if as_json:
        print_json({"room": room["id"], "plan": summary, "applied": True, "server": counts})
    else:
        out.print(f"Pushed: {counts.get('added', 0)} added, {counts.get('changed', 0)} changed"
                  f" in {room_label(room)}.")  # fmt: skip


def _download(api: Api, room_id: int) -> bytes:
    buffer = io.BytesIO()
    with (
        _progress() as progress,
        api.http.stream("GET", f"/rooms/{room_id}/files/export", timeout=None) as response,
    ):
        if response.status_code >= 400:
            response.read()
            from .client import error_from

            raise error_from(response)
        task = progress.add_task("download", total=None)
        for chunk in response.iter_bytes():
            buffer.write(chunk)
            progress.advance(task, len(chunk))
    return buffer.getvalue()


def pull_into(api: Api, room_id: int, root: Path) -> dict[str, list[str]]:
    """Write the room's live files under `root`, only those that differ."""
    archive = zipfile.ZipFile(io.BytesIO(_download(api, room_id)))
    result: dict[str, list[str]] = {"written": [], "unchanged": []}
    for info in archive.infolist():
        if info.is_dir():
            continue
        target = (root / info.filename).resolve()
        if not target.is_relative_to(root):
            raise CliError(f"The server sent a path outside the folder: {info.filename}.")
        data = archive.read(info)
        try:
            same = target.read_bytes() == data
        except OSError:
            same = False
        if same:
            result["unchanged"].append(info.filename)
        else:
            write_atomic(target, data)
            result["written"].append(info.filename)
    return result


@click.command()
@room_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@json_option
@with_api
def pull(api: Api, room_ref: str, folder: Path, as_json: bool) -> None:
    """Write the room's live files into FOLDER (only the ones that differ)."""
    room = room_resolve(api, room_ref)
    root = folder.resolve()
    root.mkdir(parents=True, exist_ok=True)
    result = pull_into(api, room["id"], root)
    if as_json:
        print_json({"room": room["id"], **result})
        return
    for rel in result["written"]:
        out.print(f"  [green]wrote[/] {rel}")
    out.print(f"{len(result['written'])} written, {len(result['unchanged'])} already the same"
              f" in {os.path.relpath(root)}.")  # fmt: skip


def register(cli: click.Group) -> None:
    cli.add_command(push)
    cli.add_command(pull)
