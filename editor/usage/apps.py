from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "editor.usage"
    label = "usage"
    verbose_name = "Model usage"
