"""editor/api/errors.py: every failure answers {"error": code, "message": text}."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI, Schema
from ninja.testing import TestClient

from editor.api.errors import install_error_handlers
from editor.core.errors import Conflict, Gone
from editor.rooms.models import Team
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_schema_mismatch_is_400_invalid_with_detail(cast, api_as):
    body = assert_error(api_as(cast.alice).post("/api/teams", {"nom": "Initech"}), 400, "invalid")
    assert "name" in body["message"]
    assert body["detail"][0]["loc"] == ["body", "payload", "name"]
    assert body["detail"][0]["type"] == "missing"


def test_wrong_json_type_is_400_invalid(cast, api_as):
    body = assert_error(api_as(cast.alice).post("/api/teams", {"name": ["a"]}), 400, "invalid")
    assert body["detail"]


def test_unparseable_body_is_400_invalid(cast, api_as):
    client = api_as(cast.alice).client
    response = client.post("/api/teams", data="{not json", content_type="application/json")
    assert_error(response, 400, "invalid")


@pytest.mark.parametrize("raw", ["[null, null]", "5", '"Bobby"', "null"])
def test_a_body_that_is_not_an_object_is_400_and_changes_nothing(cast, api_as, raw):
    # Found by schemathesis: ninja read these as {}, so PATCH /api/me answered 200.
    client = api_as(cast.bob).client
    response = client.patch("/api/me", data=raw, content_type="application/json")
    assert_error(response, 400, "invalid")
    response = client.post("/api/teams", data=raw, content_type="application/json")
    assert_error(response, 400, "invalid")
    assert list(Team.objects.values_list("name", flat=True)) == ["Acme", "Globex"]


def test_bad_query_or_enum_value_is_400_invalid(cast, api_as):
    response = api_as(cast.alice).patch(
        f"/api/teams/{cast.team.pk}/members/{cast.bob.pk}", {"role": "emperor"}
    )
    body = assert_error(response, 400, "invalid")
    assert body["detail"][0]["loc"][-1] == "role"


def test_service_errors_keep_their_status_and_code(cast, api_as):
    body = assert_error(api_as(cast.alice).post("/api/teams", {"name": "   "}), 400, "invalid")
    assert body["message"] == "Give the team a name."
    assert "detail" not in body  # only schema errors carry detail


def test_unknown_method_is_405(cast, api_as):
    response = api_as(cast.alice).put("/api/me", {"display_name": "A"})
    assert response.status_code == 405


class Thing(Schema):
    n: int


@pytest.fixture
def probe():
    """A throwaway API with Flint's handlers, to raise what no real endpoint raises."""
    api = NinjaAPI(urls_namespace="probe")
    install_error_handlers(api)

    raisers = {
        "http404": Http404("gone fishing"),
        "denied": PermissionDenied("staff only"),
        "denied-bare": PermissionDenied(),
        "conflict": Conflict("taken", code="taken"),
        "gone": Gone("expired"),
        "boom": RuntimeError("secret internals"),
    }

    @api.get("/raise/{what}")
    def raise_it(request, what: str):
        raise raisers[what]

    @api.post("/thing")
    def thing(request, payload: Thing):
        return {"n": payload.n}

    return TestClient(api)


@pytest.mark.parametrize(
    ("what", "status", "code"),
    [
        ("http404", 404, "not_found"),
        ("denied", 403, "forbidden"),
        ("denied-bare", 403, "forbidden"),
        ("conflict", 409, "taken"),
        ("gone", 410, "gone"),
        ("boom", 500, "server_error"),
    ],
)
def test_every_exception_gets_the_error_shape(probe, what, status, code):
    assert_error(probe.get(f"/raise/{what}"), status, code)


def test_server_errors_do_not_leak_internals(probe, caplog):
    body = probe.get("/raise/boom").json()
    assert "secret internals" not in body["message"]
    assert "secret internals" in caplog.text  # but the log has the traceback


def test_permission_denied_message_is_kept(probe):
    assert probe.get("/raise/denied").json()["message"] == "staff only"


def test_validation_status_is_400_everywhere(probe):
    body = assert_error(probe.post("/thing", json={"n": "many"}), 400, "invalid")
    assert body["message"].startswith("n: ")


# Found by schemathesis (tests/security/test_api_schemathesis.py) on a real daphne.


def test_an_id_past_the_integer_range_is_404_not_500(cast, api_as):
    huge = 3119778525755837842316754681856
    client = api_as(cast.alice)
    assert_error(client.delete(f"/api/rooms/{cast.room.pk}/members/{huge}"), 404, "not_found")
    assert_error(client.get(f"/api/rooms/{huge}"), 404, "not_found")


def test_multipart_without_a_boundary_is_400_invalid(cast, api_as):
    client = api_as(cast.alice).client
    response = client.post(
        f"/api/rooms/{cast.room.pk}/files/uploads", data=b"xx", content_type="multipart/form-data"
    )
    assert "multipart" in assert_error(response, 400, "invalid")["message"]


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_an_api_path_no_endpoint_matches_is_a_json_404(cast, api_as, method):
    client = api_as(cast.alice)
    for path in ("files/null,null", "files/a%0Ab/raw"):  # a newline too (schemathesis)
        response = getattr(client, method)(f"/api/rooms/{cast.room.pk}/{path}")
        assert response["Content-Type"].startswith("application/json"), path
        assert_error(response, 404, "not_found")
