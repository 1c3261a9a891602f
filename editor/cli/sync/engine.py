"""The sync of one folder with one room: reconcile the file lists, one DocLink per text file,
the watcher for local changes, the room socket for remote ones and for presence.

Rules (docs/CLI.md): text conflicts cannot happen (both sides edit one CRDT); a file on both
sides when it is first linked takes the local text where they differ; a delete against an
edit made meanwhile on the other side loses: the edited file comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets

from ..client import AsyncApi, ws_url
from ..config import Login
from ..errors import CliError
from ..ignore import IGNORE_FILES, rules_for, walk
from .doclink import RETRYABLE, DocLink, read_text
from .watch import Watcher

RECONCILE_DELAY_S = 0.03


class SyncEngine:
    def __init__(self, *, login: Login, room: dict[str, Any], root: Path,
                 emit: Callable[[str, dict[str, Any]], None]) -> None:  # fmt: skip
        self.login, self.room, self.root, self.emit = login, room, root, emit
        self.room_id = room["id"]
        # A viewer's edits would be dropped by the server: the folder only follows the room.
        self.read_only = room.get("role") == "viewer"
        self.api = AsyncApi(login)
        self.rules = rules_for(root)
        self.links: dict[str, DocLink] = {}  # by doc_id
        self.by_path: dict[str, DocLink] = {}
        self.watcher = Watcher(root, self.local_changed, self.local_moved, self.local_deleted)
        self.stopping = asyncio.Event()
        self.fatal_message: str | None = None
        self._wanted = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.online = False
        self._hello = asyncio.Event()

    # --- life ----------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self.reconcile()
            waits = [asyncio.ensure_future(link.synced_once.wait()) for link in self.links.values()]
            if waits:
                await asyncio.wait(waits, timeout=60)
            self.watcher.start()
            self._tasks = [asyncio.create_task(self._room_socket()),
                           asyncio.create_task(self._reconciler())]  # fmt: skip
            with contextlib.suppress(TimeoutError):  # present in the room before "ready"
                await asyncio.wait_for(self._hello.wait(), 30)
            self.emit("ready", {"files": len(self.links), "room": self.room_id})
            await self.stopping.wait()
        finally:
            await self.close()
        if self.fatal_message:
            raise CliError(self.fatal_message, 3)

    def stop(self) -> None:
        self.stopping.set()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.watcher.stop()
        for task in self._tasks:
            task.cancel()
        for link in list(self.links.values()):
            await link.close()
        await self.api.close()

    # --- events from links ----------------------------------------------------------------

    def log(self, what: str, path: str, **extra: Any) -> None:
        self.emit(what, {"path": path, **extra})

    def gone(self, link: DocLink) -> None:
        self.want_reconcile()

    def fatal(self, message: str) -> None:
        self.fatal_message = message
        self.stop()

    def saved(self, link: DocLink) -> None:
        pass

    # --- the file lists --------------------------------------------------------------------

    def want_reconcile(self) -> None:
        self._wanted.set()

    async def _reconciler(self) -> None:
        while True:
            await self._wanted.wait()
            await asyncio.sleep(RECONCILE_DELAY_S)
            self._wanted.clear()
            try:
                await self.reconcile()
            except CliError as exc:
                if exc.error == "unreachable":
                    continue  # the room socket asks again when the server is back
                self.emit("error", {"message": exc.message})

    def _link(self, *, doc_id: str, path: str, initial_local: str | None) -> DocLink:
        url = ws_url(self.login.server, f"ws/docs/{doc_id}", self.login.token)
        link = DocLink(doc_id=doc_id, path=path, url=url, root=self.root, events=self,
                       initial_local=None if self.read_only else initial_local)  # fmt: skip
        link.read_only = self.read_only
        self.links[doc_id] = link
        self.by_path[path] = link
        link.start()
        return link

    async def _unlink(self, link: DocLink) -> None:
        self.links.pop(link.doc_id, None)
        if self.by_path.get(link.path) is link:
            del self.by_path[link.path]
        await link.close()

    async def reconcile(self) -> None:
        """Make both file lists agree (start, reconnect, or a files.changed in the room)."""
        async with self._lock:
            listing = await self.api.request("GET", f"/rooms/{self.room_id}/files")
            remote = {f["doc_id"]: f for f in listing["files"] if f["editable"]}
            remote_keys = {f["path"].casefold() for f in listing["files"]}
            local, _ = walk(self.root, rules_for(self.root))
            for doc_id, link in list(self.links.items()):
                if doc_id not in remote:
                    await self._remote_deleted(link)
            for doc_id, meta in remote.items():
                link = self.links.get(doc_id)
                if link is None:
                    self._link(doc_id=doc_id, path=meta["path"],
                               initial_local=read_text(self.root / meta["path"]))  # fmt: skip
                elif link.path != meta["path"]:
                    self._remote_moved(link, meta["path"])
            if self.read_only:
                return
            for link in list(self.links.values()):
                if link.disk_text is not None and not link.file.exists():
                    await self._local_gone(link)
            for rel in local:
                if rel not in self.by_path and rel.casefold() not in remote_keys:
                    await self._create_remote(rel)

    # --- remote → local ---------------------------------------------------------------------

    async def _remote_deleted(self, link: DocLink) -> None:
        await self._unlink(link)
        current = read_text(link.file)
        if current is None:
            return
        if link.disk_text is not None and current != link.disk_text:
            # Edited here, deleted there: the edit wins and the file comes back.
            await self._create_remote(link.path)
            return
        with contextlib.suppress(FileNotFoundError):
            link.file.unlink()
        self._prune(link.file.parent)
        self.log("deleted-local", link.path)

    def _remote_moved(self, link: DocLink, new_path: str) -> None:
        old_file, old_path = link.file, link.path
        del self.by_path[old_path]
        link.path = new_path
        self.by_path[new_path] = link
        if old_file.exists() and not link.file.exists():
            link.file.parent.mkdir(parents=True, exist_ok=True)
            old_file.rename(link.file)
            self._prune(old_file.parent)
        else:
            link.disk_text = None if not link.file.exists() else link.disk_text
            link.flush()
        self.log("moved-local", new_path, src=old_path)

    def _prune(self, folder: Path) -> None:
        """Remove folders a remote delete or move left empty (never the root)."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    # --- local → remote ---------------------------------------------------------------------

    async def _create_remote(self, rel: str) -> None:
        text = read_text(self.root / rel)
        if text is None or rel in self.by_path:
            return  # binary files are pushed with `flint push`, not synced
        try:
            created = await self.api.request(
                "POST", f"/rooms/{self.room_id}/files", json={"path": rel, "text": text}
            )
        except CliError as exc:
            if exc.error == "unreachable":
                return  # offline: the reconcile after reconnecting creates it
            self.emit("error", {"message": f"{rel}: {exc.message}"})
            self.want_reconcile()
            return
        meta = created["file"]
        if meta["doc_id"] not in self.links:
            self._link(doc_id=meta["doc_id"], path=meta["path"], initial_local=text)
        self.log("created-remote", rel)

    async def _local_gone(self, link: DocLink) -> None:
        """The local file is gone: delete it in the room, unless it was edited there since."""
        if not link.shared_equals_disk():
            link.disk_text = None
            link.flush()  # the remote edit wins: the file comes back
            return
        try:
            await self.api.request("DELETE", f"/rooms/{self.room_id}/files",
                                   params={"path": link.path})  # fmt: skip
        except CliError as exc:
            if exc.error == "unreachable":
                return
            if getattr(exc, "status", None) != 404:
                self.emit("error", {"message": f"{link.path}: {exc.message}"})
        await self._unlink(link)
        self.log("deleted-remote", link.path)

    def _ignored(self, rel: str, is_dir: bool = False) -> bool:
        return self.rules.ignored(rel, is_dir=is_dir)

    def local_changed(self, rel: str) -> None:
        if self.read_only:
            return
        if rel.rsplit("/", 1)[-1] in IGNORE_FILES:
            self.rules = rules_for(self.root)
        if self._ignored(rel):
            return
        link = self.by_path.get(rel)
        if link is not None:
            link.local_saved()
        elif (self.root / rel).is_file():
            asyncio.get_running_loop().create_task(self._guarded(self._create_remote(rel)))

    def local_deleted(self, rel: str, is_dir: bool) -> None:
        if self.read_only:
            return
        prefix = rel + "/"
        doomed = [link for path, link in self.by_path.items()
                  if path == rel or (is_dir and path.startswith(prefix))]  # fmt: skip
        for link in doomed:
            if not link.file.exists() and link.disk_text is not None:
                asyncio.get_running_loop().create_task(self._guarded(self._local_gone(link)))

    def local_moved(self, src: str, dest: str, is_dir: bool) -> None:
        if self.read_only:
            return
        if is_dir:
            asyncio.get_running_loop().create_task(self._guarded(self._move_folder(src, dest)))
            return
        link = self.by_path.get(src)
        if link is None:
            self.local_changed(dest)  # an editor's atomic save: temp file renamed over ours
            return
        if self._ignored(dest):
            self.local_deleted(src, False)
            return
        asyncio.get_running_loop().create_task(self._guarded(self._move_file(link, dest)))

    async def _move_file(self, link: DocLink, dest: str) -> None:
        src = link.path
        if dest in self.by_path:  # renamed over another synced file: that one is replaced
            await self._local_gone_forced(self.by_path[dest])
        del self.by_path[src]
        link.path = dest
        self.by_path[dest] = link
        try:
            await self.api.request("POST", f"/rooms/{self.room_id}/files/move",
                                   json={"from_path": src, "to_path": dest})  # fmt: skip
        except CliError as exc:
            if exc.error != "unreachable":
                self.emit("error", {"message": f"{src} → {dest}: {exc.message}"})
                self.want_reconcile()
            return
        self.log("moved-remote", dest, src=src)
        link.local_saved()

    async def _local_gone_forced(self, link: DocLink) -> None:
        with contextlib.suppress(CliError):
            await self.api.request("DELETE", f"/rooms/{self.room_id}/files",
                                   params={"path": link.path})  # fmt: skip
        await self._unlink(link)

    async def _move_folder(self, src: str, dest: str) -> None:
        prefix = src + "/"
        moving = [link for path, link in self.by_path.items() if path.startswith(prefix)]
        if not moving:
            self.want_reconcile()
            return
        for link in moving:
            del self.by_path[link.path]
            link.path = dest + "/" + link.path[len(prefix) :]
            self.by_path[link.path] = link
        try:
            await self.api.request("POST", f"/rooms/{self.room_id}/files/move",
                                   json={"from_path": src, "to_path": dest})  # fmt: skip
        except CliError as exc:
            if exc.error != "unreachable":
                self.emit("error", {"message": f"{src} → {dest}: {exc.message}"})
                self.want_reconcile()
            return
        self.log("moved-remote", dest, src=src)

    async def _guarded(self, work: Any) -> None:
        try:
            await work
        except CliError as exc:
            self.emit("error", {"message": exc.message})
        except Exception as exc:  # a bug must not end the sync: say it and carry on
            self.emit("error", {"message": f"{type(exc).__name__}: {exc}"})

    # --- the room socket: presence, files.changed, reconnects ------------------------------

    async def _room_socket(self) -> None:
        url = ws_url(self.login.server, f"ws/rooms/{self.room_id}", self.login.token,
                     client="terminal")  # fmt: skip
        backoff, first = 0.05, True
        while not self.stopping.is_set():
            try:
                async with websockets.connect(url, open_timeout=10, ping_interval=20) as ws:
                    async for raw in ws:
                        message = json.loads(raw)
                        kind = message.get("type")
                        if kind == "hello":
                            backoff = 0.05
                            self.online = True
                            self._hello.set()
                            if not first:
                                self.emit("online", {})
                                self.want_reconcile()
                            first = False
                        elif kind == "error" and not self.online:
                            self.fatal(message.get("message", "The room refused the sync."))
                            return
                        elif kind in ("files.changed", "upload.applied"):
                            self.want_reconcile()
            except (websockets.ConnectionClosed, *RETRYABLE):
                pass
            if self.online:
                self.online = False
                self.emit("offline", {})
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
