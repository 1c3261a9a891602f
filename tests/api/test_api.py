"""editor/api/api.py: the OpenAPI description and the docs page are served."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

EXPECTED = {
    "/api/me": {"get", "patch"},
    "/api/tokens": {"get", "post"},
    "/api/tokens/{token_id}": {"delete"},
    "/api/teams": {"get", "post"},
    "/api/teams/{team_id}": {"get", "patch", "delete"},
    "/api/teams/{team_id}/members": {"get", "post"},
    "/api/teams/{team_id}/members/{user_id}": {"patch", "delete"},
    "/api/teams/{team_id}/invites": {"get", "post"},
    "/api/teams/{team_id}/invites/{invite_id}": {"delete"},
    "/api/invites/{token}/accept": {"post"},
    "/api/rooms": {"get"},
    "/api/teams/{team_id}/rooms": {"post"},
    "/api/rooms/{room_id}": {"get", "patch", "delete"},
    "/api/rooms/{room_id}/members": {"get"},
    "/api/rooms/{room_id}/members/{user_id}": {"put", "delete"},
    "/api/rooms/{room_id}/files": {"get", "post", "delete"},
    "/api/rooms/{room_id}/files/{file_id}": {"get", "put"},
    "/api/rooms/{room_id}/files/{file_id}/raw": {"get"},
    "/api/rooms/{room_id}/files/move": {"post"},
    "/api/rooms/{room_id}/files/export": {"get"},
    "/api/rooms/{room_id}/files/uploads": {"post"},
    "/api/rooms/{room_id}/files/uploads/{upload_id}": {"get"},
    "/api/rooms/{room_id}/files/uploads/{upload_id}/confirm": {"post"},
    "/api/rooms/{room_id}/files/uploads/{upload_id}/cancel": {"post"},
    "/api/rooms/{room_id}/tasks": {"get", "post"},
    "/api/rooms/{room_id}/tasks/{task_id}": {"get"},
    "/api/rooms/{room_id}/tasks/{task_id}/cancel": {"post"},
    "/api/rooms/{room_id}/tasks/{task_id}/retry": {"post"},
    "/api/rooms/{room_id}/tasks/{task_id}/apply": {"post"},
    "/api/rooms/{room_id}/tasks/{task_id}/undo": {"post"},
    "/api/rooms/{room_id}/tasks/{task_id}/reject": {"post"},
    "/api/rooms/{room_id}/tasks/{task_id}/pick": {"post"},
    "/api/rooms/{room_id}/tasks/{task_id}/messages": {"post"},
    "/api/rooms/{room_id}/tasks/{task_id}/plan": {"post"},
    "/api/rooms/{room_id}/tasks/{task_id}/follow-up": {"post"},
    "/api/rooms/{room_id}/agent-settings": {"get", "put"},
    "/api/rooms/{room_id}/checkpoints": {"get"},
    "/api/rooms/{room_id}/checkpoints/{checkpoint_id}/undo": {"post"},
    "/api/rooms/{room_id}/reviews": {"post"},
    "/api/rooms/{room_id}/reviews/{run_id}": {"get"},
    "/api/rooms/{room_id}/comments": {"get"},
    "/api/rooms/{room_id}/comments/{comment_id}/resolve": {"post"},
    "/api/usage": {"get"},
}


@pytest.fixture
def schema():
    response = Client().get("/api/openapi.json")  # public: no credentials needed
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def test_openapi_lists_every_endpoint(schema):
    assert schema["openapi"].startswith("3.")
    paths = {path: set(ops) for path, ops in schema["paths"].items()}
    assert paths == EXPECTED


def test_openapi_declares_both_auth_schemes_on_every_operation(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionAuth"]["in"] == "cookie"
    for ops in schema["paths"].values():
        for op in ops.values():
            assert {"TokenAuth": []} in op["security"]
            assert {"SessionAuth": []} in op["security"]


def test_openapi_documents_the_error_shape(schema):
    error = schema["components"]["schemas"]["ErrorOut"]
    assert set(error["required"]) == {"error", "message"}
    team = schema["paths"]["/api/teams/{team_id}"]["patch"]["responses"]
    assert set(team) >= {"200", "400", "401", "403", "404", "409"}
    assert team["403"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def test_creations_are_201_and_deletions_204(schema):
    # Deleting by path (a file or a whole folder) answers 200 with how many files went.
    reports_what_it_removed = {"/api/rooms/{room_id}/files"}
    for path, ops in schema["paths"].items():
        if "delete" in ops:
            expected = "200" if path in reports_what_it_removed else "204"
            assert expected in ops["delete"]["responses"], path
    assert "201" in schema["paths"]["/api/teams"]["post"]["responses"]
    assert "201" in schema["paths"]["/api/tokens"]["post"]["responses"]


def test_docs_page_is_served():
    response = Client().get("/api/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content
