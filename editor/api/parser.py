"""Request bodies are JSON objects; anything else is a 400, not an empty object."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser


class ObjectParser(Parser):
    # Ninja fills a body schema field by field from the parsed body, so a body of
    # `[1, 2]`, `"x"` or `null` would otherwise read as {} and a PATCH with nothing in it
    # would quietly succeed (schemathesis found this).
    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data
