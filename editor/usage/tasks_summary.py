"""Deep tasks by status and duration, from the deep-task app (editor/agents) when installed.

The usage app must not depend on the agents app (it is optional to the dashboard and was
written in parallel), so the model is looked up at run time: the agents app's model with
a `status`, a `room` and `created_at`; duration is finished - started when it has both.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Model

AGENTS_APP = "agents"


def _task_model() -> type[Model] | None:
    if not apps.is_installed("editor.agents"):
        return None
    for model in apps.get_app_config(AGENTS_APP).get_models():
        names = {field.name for field in model._meta.get_fields()}
        if {"status", "room", "created_at"} <= names and model.__name__.lower().endswith("task"):
            return model
    return None


def deep_tasks_summary(*, filters: Any) -> dict[str, Any] | None:
    """[{status, tasks, avg_s, max_s}] for tasks created in range, or None without the app."""
    model = _task_model()
    if model is None:
        return None
    names = {field.name for field in model._meta.get_fields()}
    tasks = model.objects.filter(
        created_at__gte=filters.start, created_at__lt=filters.end
    ).order_by()
    if filters.scope is not None:
        tasks = tasks.filter(room__team_id__in=filters.scope)
    if filters.team_id is not None:
        tasks = tasks.filter(room__team_id=filters.team_id)
    if filters.user_id is not None and "created_by" in names:
        tasks = tasks.filter(created_by_id=filters.user_id)
    aggregates: dict[str, Any] = {"tasks": Count("pk")}
    timed = {"started_at", "finished_at"} <= names
    if timed:
        took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        aggregates |= {"avg": Avg(took), "max": Max(took)}
    rows = list(tasks.values("status").annotate(**aggregates).order_by("-tasks", "status"))
    for row in rows:
        row["avg_s"] = row.pop("avg").total_seconds() if timed and row.get("avg") else None
        row["max_s"] = row.pop("max").total_seconds() if timed and row.get("max") else None
    return {"rows": rows, "timed": timed}
