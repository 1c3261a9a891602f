"""Logging filters: the terminal shows bugs with their tracebacks, and refusals as one line."""

from __future__ import annotations

import logging


class RefusalsWithoutTraceback(logging.Filter):
    """Drops the traceback Django attaches to a 4xx it logs (a 403, a 404, a bad request).

    A refusal is Flint working as meant: `flint_page` turns a service's `Forbidden` into
    `PermissionDenied`, and Django logs it at warning *with* the exception. One line says
    enough; tracebacks stay for 5xx, where they point at a bug.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
