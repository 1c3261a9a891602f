from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from editor.core.health import database_health, parse_skip, services_health

log = logging.getLogger(__name__)


@never_cache
async def healthz(request):
    """200 when the database, Redis and at least one worker answer, 503 otherwise.

    `?skip=celery` leaves the worker ping out: a web node's own probe should not fail
    (and be pulled from the load balancer) because the workers are down.
    """
    try:
        skip = parse_skip(request.GET.getlist("skip"))
    except ValueError as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=400)
    report = await sync_to_async(database_health)()
    # The worker ping waits up to a second: keep it off the thread that serves sync views.
    report |= await sync_to_async(services_health, thread_sensitive=False)(
        celery="celery" not in skip
    )
    report["ok"] = all(part["ok"] for part in report.values())
    response = JsonResponse(report, status=200 if report["ok"] else 503)
    if not report["ok"]:
        # A 503 here is the answer asked for (the launcher polls it while the worker comes
        # up; a balancer reads the status), not a server error: a debug line instead of
        # Django's "ERROR Service Unavailable" (daphne's access line shows the 503).
        failing = ", ".join(
            name for name, part in report.items() if name != "ok" and not part["ok"]
        )
        log.debug("healthz: not ready (%s)", failing)
        response._has_been_logged = True  # read by django.utils.log.log_response
    return response
