"""What a command can fail with, and the exit code each failure means (docs/CLI.md)."""

from __future__ import annotations

OK = 0
FAILED = 1  # the command ran and the outcome was a failure (a task failed, a review failed)
USAGE = 2  # a bad command line (Click's own code for the same thing)
REFUSED = 3  # the server said no: 401, 403, 404, 409, 410, 429
SERVER = 4  # the server failed or could not be reached (5xx, connection refused, timeout)
INTERRUPTED = 130  # Ctrl-C

REFUSAL_STATUSES = frozenset({400, 401, 403, 404, 409, 410, 413, 429})


class CliError(Exception):
    """One line for the person at the terminal, and the exit code."""

    def __init__(self, message: str, code: int = FAILED, *, error: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.error = error


class ApiError(CliError):
    """The server answered with an error (`{"error", "message"}`, docs/API.md)."""

    def __init__(self, status: int, error: str, message: str) -> None:
        code = REFUSED if status in REFUSAL_STATUSES else SERVER
        if status == 400:
            code = USAGE
        super().__init__(message, code, error=error)
        self.status = status


class NotLoggedIn(CliError):
    def __init__(self) -> None:
        super().__init__(
            "You are not logged in. Run `flint login URL` with a token from your profile page.",
            REFUSED,
            error="not_authenticated",
        )
