"""Celery's report of a task that died with its pool child: the task row says so at once.

`task_failure` is sent by the worker's main process when a pool child running one of our
tasks is lost (killed, out of memory) or the hard time limit kills it; the sweep
(services.tasks_sweep) covers the case where the whole worker went down with it.
"""

from __future__ import annotations

import logging
from typing import Any

from billiard.exceptions import TimeLimitExceeded, WorkerLostError
from celery.signals import task_failure

log = logging.getLogger(__name__)


@task_failure.connect
def _on_task_failure(sender: Any = None, args: Any = None, exception: Any = None, **_: Any) -> None:
    name = getattr(sender, "name", "")
    if name not in {"agents.run_task", "agents.run_review"} or not args:
        return
    if isinstance(exception, TimeLimitExceeded):
        message = "The worker killed this task at its hard time limit. The changes so far are kept."
    elif isinstance(exception, WorkerLostError):
        message = None
    else:
        return  # the task's own code already wrote its end state
    try:
        if name == "agents.run_task":
            from editor.agents.services import WORKER_LOST, task_mark_lost

            task_mark_lost(task_id=int(args[0]), message=message or WORKER_LOST)
        else:
            from editor.agents.review import review_mark_lost

            review_mark_lost(run_id=int(args[0]))
    except Exception:
        log.exception("could not mark %s %s as lost", name, args)
