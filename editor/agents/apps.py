from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "editor.agents"
    label = "agents"
    verbose_name = "Deep tasks and review"

    def ready(self) -> None:
        # Celery's worker signals (a pool child lost mid-task) are connected here so that
        # every process that loads Django, the worker's main process included, has them.
        from editor.agents import signals  # noqa: F401
