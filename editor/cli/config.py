"""Where the server and token are kept: one JSON file, readable by its owner only."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_config_dir

from .errors import USAGE, CliError, NotLoggedIn


def config_path() -> Path:
    override = os.environ.get("FLINT_CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(user_config_dir("flint")) / "config.json"


@dataclass(frozen=True)
class Login:
    server: str  # base URL with a trailing slash
    token: str
    username: str = ""


def login_load() -> Login:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotLoggedIn() from None
    except (OSError, ValueError) as exc:
        raise CliError(f"Cannot read {path} ({exc}). Run `flint login URL` again.", USAGE) from None
    if not data.get("server") or not data.get("token"):
        raise NotLoggedIn()
    return Login(server=data["server"], token=data["token"], username=data.get("username", ""))


def login_save(login: Login) -> Path:
    """Write atomically with mode 0600 from the start: the token is never world-readable."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"server": login.server, "token": login.token, "username": login.username},
                  handle, indent=2)  # fmt: skip
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def login_forget() -> bool:
    try:
        config_path().unlink()
    except FileNotFoundError:
        return False
    return True


def server_normalize(url: str) -> str:
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    if not url.startswith(("http://", "https://")):
        raise CliError(f"{url} is not an http(s) address, e.g. http://127.0.0.1:8000", USAGE)
    return url.rstrip("/") + "/"
