from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "editor.rooms"
    label = "rooms"
    verbose_name = "Teams and rooms"
