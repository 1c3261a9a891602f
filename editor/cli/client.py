"""The JSON API over HTTP (docs/API.md): one place that turns answers into data or errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import httpx

from . import __version__
from .config import Login
from .errors import SERVER, ApiError, CliError

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "User-Agent": f"flint-cli/{__version__}"}


def error_from(response: httpx.Response) -> ApiError:
    """The server's `{"error", "message"}`, or a plain description when there is none."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
        detail = body.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            where = ".".join(str(part) for part in detail[0].get("loc", [])[1:])
            message = f"{message} ({where}: {detail[0].get('msg', '')})"
        return ApiError(response.status_code, str(body.get("error", "error")), message)
    if response.status_code >= 500:
        text = f"The server failed ({response.status_code}). Try again, or ask its admin."
    else:
        text = f"The server answered {response.status_code} {response.reason_phrase}."
    return ApiError(response.status_code, "http_error", text)


def unreachable(server: str, exc: Exception) -> CliError:
    return CliError(
        f"Cannot reach {server} ({type(exc).__name__}: {exc or 'no answer'}). "
        "Is Flint running there?",
        SERVER,
        error="unreachable",
    )


def ws_url(server: str, path: str, token: str, **params: str) -> str:
    base = "ws" + server[len("http") :] if server.startswith("http") else server
    return base + path.lstrip("/") + "?" + urlencode({"token": token, **params})


class Api:
    """Blocking calls for the one-shot commands; `Api.path` quotes path segments."""

    def __init__(self, login: Login) -> None:
        self.login = login
        self.http = httpx.Client(
            base_url=login.server + "api", headers=_headers(login.token), timeout=TIMEOUT
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise unreachable(self.login.server, exc) from None
        if response.status_code >= 400:
            raise error_from(response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["json"] = body
        response = self.request("POST", path, **kwargs)
        return response.json() if response.content else None

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body).json()

    def delete(self, path: str, **kwargs: Any) -> Any:
        response = self.request("DELETE", path, **kwargs)
        return response.json() if response.content else None

    @staticmethod
    def path(value: str) -> str:
        return quote(value, safe="")


class AsyncApi:
    """The same calls for the sync engine's event loop."""

    def __init__(self, login: Login) -> None:
        self.login = login
        self.http = httpx.AsyncClient(
            base_url=login.server + "api", headers=_headers(login.token), timeout=TIMEOUT
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise unreachable(self.login.server, exc) from None
        if response.status_code >= 400:
            raise error_from(response)
        return response.json() if response.content else None


__all__ = ["SERVER", "Api", "AsyncApi", "error_from", "unreachable", "ws_url"]
