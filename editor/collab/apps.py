from __future__ import annotations

from django.apps import AppConfig


class CollabConfig(AppConfig):
    name = "editor.collab"
    label = "collab"
    verbose_name = "Collaborative documents"
