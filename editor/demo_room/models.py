"""Which rooms were made as demo rooms (their page shows the "things to try" panel)."""

from __future__ import annotations

from django.db import models


class DemoRoom(models.Model):
    room = models.OneToOneField("rooms.Room", on_delete=models.CASCADE, related_name="demo")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"demo room {self.room_id}"
