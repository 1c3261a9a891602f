from django.apps import AppConfig


class DemoRoomConfig(AppConfig):
    name = "editor.demo_room"
    label = "demo_room"
    verbose_name = "Demo rooms"
