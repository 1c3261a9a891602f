"""The dashboard page and CSV export: who may see what, and the same numbers as the selectors."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.test import Client

from editor.rooms.services import team_create
from tests.usage.seed import END, START, seed_usage

pytestmark = pytest.mark.django_db
RANGE = {"range": "custom", "start": START.date().isoformat(), "end": (END.date()).isoformat()}


@pytest.fixture
def seeded(cast):
    seed_usage(cast)
    # The first account is made staff on a fresh install (FLINT_FIRST_USER_IS_STAFF):
    # here alice is only a team owner.
    cast.alice.is_staff = False
    cast.alice.save(update_fields=["is_staff"])
    return cast


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff(cast):
    cast.carol.is_staff = True
    cast.carol.save(update_fields=["is_staff"])
    return client_for(cast.carol)


def test_staff_see_every_team(seeded):
    response = staff(seeded).get("/usage/", RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kpi="requests">7<' in html
    assert 'data-kpi="prompt">2,050<' in html
    assert 'data-kpi="completion">900<' in html
    assert 'data-kpi="cost">$0.02<' in html
    assert 'data-kpi="acceptance">50.0%<' in html
    assert 'data-kpi="cache">51.2%<' in html  # 1,050 of 2,050 prompt tokens cached
    assert 'data-kpi="reasoning">350 reasoning<' in html
    assert "Globex" in html and "mallory" in html
    assert response.context["figures"]["totals"]["cost"] == Decimal("0.02045")


def test_the_cache_table_and_chart_show_share_and_reasoning_per_tier_and_model(seeded):
    response = staff(seeded).get("/usage/", RANGE)
    html = response.content.decode()

    table = html[html.index('data-table="cache"') : html.index('data-table="models"')]
    shares = re.findall(r'data-cell="cache-share">([^<]*)<', table)
    reasoning = re.findall(r'data-cell="reasoning">([^<]*)<', table)
    assert (shares, reasoning) == (["80.0%", "23.8%", "—"], ["300", "50", "0"])
    cache = response.context["charts"]["cache"]
    assert cache == {
        "labels": ["deep · sim-deep", "fast · sim-fast"],  # the refused review has no tokens
        "tiers": ["deep", "fast"],
        "share": [80.0, 23.8],
        "reasoning": [300, 50],
    }


def test_a_team_owner_sees_only_their_team(seeded):
    response = client_for(seeded.alice).get("/usage/", RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kpi="requests">5<' in html
    assert 'data-kpi="acceptance">33.3%<' in html
    assert "Globex" not in html and "mallory" not in html
    assert response.context["filters"].team_id == seeded.team.pk


def test_an_owner_cannot_ask_for_another_team(seeded):
    response = client_for(seeded.alice).get("/usage/", {**RANGE, "team": seeded.other_team.pk})
    assert response.status_code == 403
    export = client_for(seeded.alice).get(
        "/usage/export.csv", {**RANGE, "team": seeded.other_team.pk}
    )
    assert export.status_code == 403


def test_an_owner_of_two_teams_sees_both_and_nothing_else(seeded):
    second = team_create(name="Initech", owner=seeded.alice)
    response = client_for(seeded.alice).get("/usage/", RANGE)
    assert response.context["filters"].scope == tuple(sorted((seeded.team.pk, second.pk)))
    assert "Globex" not in response.content.decode()


@pytest.mark.parametrize("who", ["bob", "dave", "carol"])
def test_members_who_own_no_team_are_refused(seeded, who):
    response = client_for(getattr(seeded, who)).get("/usage/")
    assert response.status_code == 403
    assert b"for staff and team owners" in response.content
    assert client_for(getattr(seeded, who)).get("/usage/export.csv").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(seeded):
    response = Client().get("/usage/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_header_links_to_the_dashboard_only_for_staff_and_owners(seeded):
    assert b'href="/usage/"' in client_for(seeded.alice).get("/rooms/").content
    assert b'href="/usage/"' not in client_for(seeded.bob).get("/rooms/").content


def test_a_bad_custom_range_says_why(seeded):
    response = staff(seeded).get("/usage/", {"range": "custom", "start": "2026-03-09",
                                             "end": "2026-03-01"})  # fmt: skip
    assert response.status_code == 200
    assert "From must be on or before To." in response.content.decode()


def test_csv_export_streams_the_filtered_rows(seeded):
    seeded.team.name = "=HYPERLINK(evil)"
    seeded.team.save()
    response = staff(seeded).get("/usage/export.csv", {**RANGE, "user": seeded.bob.pk})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:10] == [
        "created_at", "user", "team", "room", "tier", "model", "feature", "status",
        "error_kind", "prompt_tokens",
    ]  # fmt: skip
    assert rows[0][9:13] == [
        "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
    ]  # fmt: skip
    assert [(r[1], r[6], r[7], r[9], r[10], r[11], r[12]) for r in rows[1:]] == [
        ("bob", "inline_completion", "ok", "100", "20", "0", "0"),
        ("bob", "quick_edit", "ok", "200", "80", "150", "0"),
        ("bob", "qa", "error", "50", "0", "0", "0"),
    ]
    assert rows[1][0] == "2026-03-02T10:00:00+00:00"
    assert rows[1][2] == "'=HYPERLINK(evil)"  # a spreadsheet must not run it


def test_the_admin_index_links_to_the_dashboard(seeded):
    seeded.carol.is_superuser = True
    seeded.carol.save(update_fields=["is_superuser"])
    html = staff(seeded).get("/admin/").content.decode()
    assert 'href="/usage/"' in html and "Usage dashboard" in html
