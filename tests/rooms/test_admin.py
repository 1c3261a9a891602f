"""The Django admin shows teams, rooms and memberships (to look at, not to edit), and
names the usage app once."""

from __future__ import annotations

import re

from django.test import Client


def admin_client(user) -> Client:
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_lists_teams_and_rooms_with_their_members_read_only(cast, db):
    client = admin_client(cast.alice)
    index = client.get("/admin/").content.decode()
    for name in ("Teams", "Rooms", "Team memberships", "Room memberships"):
        assert f">{name}</a>" in index, name
    # "Model usage" is the app's name, once; the dashboard link has its own caption.
    assert len(re.findall(r">\s*Model usage\s*<", index)) == 1

    rooms = client.get("/admin/rooms/room/").content.decode()
    assert "Compiler" in rooms
    room = client.get(f"/admin/rooms/room/{cast.room.pk}/change/")
    assert room.status_code == 200
    body = room.content.decode()
    assert "bob" in body and "carol" in body
    # Changes go through the services (access checks, socket closes), not row edits.
    assert 'name="_save"' not in body
    assert (
        client.post(f"/admin/rooms/room/{cast.room.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert client.get("/admin/rooms/team/add/").status_code == 403
