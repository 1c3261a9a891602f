"""Test helpers for the JSON API: a JSON client and the error-shape assertion."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client


class ApiClient:
    """django.test.Client speaking JSON, with an optional bearer token."""

    def __init__(self, token: str | None = None, *, client: Client | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or Client(headers=headers)
        self.token = token

    def _send(self, method: str, path: str, body: Any = None, **extra: Any):
        call = getattr(self.client, method)
        if body is None:
            return call(path, **extra)
        return call(path, data=json.dumps(body), content_type="application/json", **extra)

    def get(self, path: str, **extra: Any):
        return self._send("get", path, **extra)

    def post(self, path: str, body: Any = None, **extra: Any):
        return self._send("post", path, body, **extra)

    def patch(self, path: str, body: Any = None, **extra: Any):
        return self._send("patch", path, body, **extra)

    def put(self, path: str, body: Any = None, **extra: Any):
        return self._send("put", path, body, **extra)

    def delete(self, path: str, **extra: Any):
        return self._send("delete", path, **extra)


def assert_error(response, status: int, code: str) -> dict:
    """The one error shape: {"error": code, "message": non-empty text}."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    return body
