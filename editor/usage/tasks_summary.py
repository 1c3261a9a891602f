"""Deep tasks by status and duration, for the usage dashboard.

Usage sits below agents in the app graph (docs/ARCHITECTURE.md), so it names the model
(`agents.Task`) through the app registry instead of importing it; duration is
finished_at - started_at.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Model


def _task_model() -> type[Model] | None:
    if not apps.is_installed("editor.agents"):
        return None
    return apps.get_model("agents", "Task")


def deep_tasks_summary(*, filters: Any) -> dict[str, Any] | None:
    """[{status, tasks, avg_s, max_s}] for tasks created in range, or None without the app."""
    model = _task_model()
    if model is None:
        return None
    tasks = model.objects.filter(
        created_at__gte=filters.start, created_at__lt=filters.end
    ).order_by()
    if filters.scope is not None:
        tasks = tasks.filter(room__team_id__in=filters.scope)
    if filters.team_id is not None:
        tasks = tasks.filter(room__team_id=filters.team_id)
    if filters.user_id is not None:
        tasks = tasks.filter(created_by_id=filters.user_id)
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    rows = list(
        tasks.values("status")
        .annotate(tasks=Count("pk"), avg=Avg(took), max=Max(took))
        .order_by("-tasks", "status")
    )
    for row in rows:
        avg, longest = row.pop("avg"), row.pop("max")
        row["avg_s"] = avg.total_seconds() if avg else None
        row["max_s"] = longest.total_seconds() if longest else None
    return {"rows": rows}
