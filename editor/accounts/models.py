from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #3b82f6.")


class Profile(models.Model):
    """What the room shows of a person: their name and the colour of their cursor."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=80, blank=True)
    cursor_color = models.CharField(max_length=7, validators=[color_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_username()
