"""`{% room_is_demo room as demo %}`: rooms' page asks without rooms importing this app.

Rooms sits below demo_room in the app graph (docs/ARCHITECTURE.md, "Layers"), so the
room page learns whether to show the "things to try" strip through this tag.
"""

from __future__ import annotations

from django import template

from editor.demo_room import selectors
from editor.rooms.models import Room

register = template.Library()


@register.simple_tag
def room_is_demo(room: Room) -> bool:
    return selectors.room_is_demo(room=room)
