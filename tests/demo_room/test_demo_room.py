"""The demo room: offered on a fresh install, made with the sample project, its panel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from editor.demo_room.models import DemoRoom
from editor.demo_room.project import sample_files
from editor.demo_room.services import demo_room_create
from editor.projects.selectors import file_text_current, files_for_room
from editor.rooms.models import TeamRole
from editor.rooms.permissions import room_role

pytestmark = pytest.mark.django_db


def test_a_newcomer_is_offered_a_demo_room(client, make_user):
    client.force_login(make_user("nora"))
    page = client.get(reverse("rooms:list")).content.decode()
    assert "data-demo-offer" in page and "Open a demo room" in page


def test_someone_with_rooms_is_not_offered_one_outside_demo_mode(client, cast, settings):
    settings.FLINT_DEMO_MODE = False
    client.force_login(cast.alice)
    page = client.get(reverse("rooms:list")).content.decode()
    assert "data-demo-offer" not in page and "data-demo-room-new" not in page
    settings.FLINT_DEMO_MODE = True
    assert "New demo room" in client.get(reverse("rooms:list")).content.decode()


def test_opening_one_makes_a_team_a_room_and_the_sample_project(client, make_user):
    nora = make_user("nora")
    client.force_login(nora)

    response = client.post(reverse("demo_room:new"))

    demo = DemoRoom.objects.select_related("room__team").get()
    room = demo.room
    assert response.status_code == 302 and response["Location"] == f"/rooms/{room.pk}/"
    assert room.team.name == "nora's demo team"
    assert room.team.memberships.get(user=nora).role == TeamRole.OWNER
    assert room_role(nora, room) == "admin"
    files = {f.path: file_text_current(f) for f in files_for_room(room=room)}
    assert files == sample_files()
    assert {"shop/cart.py", "shop/pricing.py", "shop/report.py", "web/badge.js"} <= set(files)
    page = client.get(response["Location"]).content.decode()
    assert "data-try-panel" in page and "Ctrl-K" in page and "Start a task" in page


def test_a_second_demo_room_goes_in_the_team_they_own(cast):
    first = demo_room_create(actor=cast.alice)
    second = demo_room_create(actor=cast.alice)
    assert first.team == second.team == cast.team
    assert (first.name, second.name) == ("Demo: corner shop", "Demo: corner shop 2")


def test_an_ordinary_room_has_no_panel(client, cast):
    client.force_login(cast.alice)
    page = client.get(reverse("rooms:detail", args=[cast.room.pk])).content.decode()
    assert "data-try-panel" not in page


def test_only_logged_in_people_by_post(client, make_user):
    assert client.post(reverse("demo_room:new")).status_code == 302  # to the login page
    assert not DemoRoom.objects.exists()
    client.force_login(make_user("nora"))
    assert client.get(reverse("demo_room:new")).status_code == 405
    assert not DemoRoom.objects.exists()


def test_the_sample_project_runs():
    import subprocess
    import sys

    from editor.demo_room.project import SAMPLE_DIR

    done = subprocess.run([sys.executable, "-m", "shop.report"], cwd=SAMPLE_DIR,
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert done.stdout.splitlines()[-1] == "TOTAL         15.72 EUR"
