from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "editor.core"
    label = "core"
    verbose_name = "Flint core"
