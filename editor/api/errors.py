"""One error shape for the whole API: {"error": code, "message": text[, "detail": [...]]}.

Services raise editor.core.errors; Django and ninja raise their own exceptions. Every one
of them is turned into the same JSON body here, so a client reads `error` to branch and
shows `message` to a person.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from editor.core.errors import FlintError

logger = logging.getLogger(__name__)

# Ninja's HttpError carries only a status; these give it the same codes FlintError uses.
_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    429: "throttled",
}
# Schema validation answers 400 like a service's Invalid: `error == "invalid"` always
# means 400, and `detail` is there when the request did not match the schema.
VALIDATION_STATUS = 400


def error_response(
    api: NinjaAPI, request: HttpRequest, *, status: int, code: str, message: str, **extra: Any
) -> HttpResponse:
    return api.create_response(request, {"error": code, "message": message, **extra}, status=status)


def _location(loc: list[Any] | tuple[Any, ...]) -> str:
    # ("body", "payload", "name") reads better as "name"; keep query/path prefixes.
    parts = [str(part) for part in loc]
    if len(parts) >= 2 and parts[0] == "body":
        parts = parts[2:] or parts[1:]
    return ".".join(parts) or "request"


def install_error_handlers(api: NinjaAPI) -> None:
    def flint_error(request: HttpRequest, exc: FlintError) -> HttpResponse:
        return error_response(api, request, status=exc.status, code=exc.code, message=exc.message)

    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        detail = [
            {
                "loc": list(err.get("loc", ())),
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors
        ]
        message = "; ".join(f"{_location(d['loc'])}: {d['msg']}" for d in detail)
        return error_response(
            api,
            request,
            status=VALIDATION_STATUS,
            code="invalid",
            message=message or "The request does not match the schema.",
            detail=detail,
        )

    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(
            api,
            request,
            status=401,
            code="not_authenticated",
            message="Log in, or send a personal access token as 'Authorization: Bearer <token>'.",
        )

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = _CODES.get(exc.status_code, "error")
        return error_response(api, request, status=exc.status_code, code=code, message=str(exc))

    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(api, request, status=404, code="not_found", message="Not found.")

    def id_out_of_range(request: HttpRequest, exc: OverflowError) -> HttpResponse:
        # An id past the database's integer range names nothing that can exist (SQLite
        # raises this while binding it; PostgreSQL just finds no row).
        return error_response(api, request, status=404, code="not_found", message="Not found.")

    def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        message = str(exc) or "You may not do that."
        return error_response(api, request, status=403, code="forbidden", message=message)

    def unreadable_body(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Django raises these while parsing a form body (a multipart request without a
        # boundary, too many parts): the client's mistake, not a bug.
        if isinstance(exc, TooManyFilesSent):
            message = f"The request sends more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files."
        elif isinstance(exc, TooManyFieldsSent):
            message = "The request sends too many form fields."
        else:
            message = f"The request body cannot be read as multipart/form-data ({exc})."
        return error_response(api, request, status=400, code="invalid", message=message)

    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # A bug, not a user error: log the traceback, tell the client nothing internal.
        logger.exception("API error on %s %s", request.method, request.path)
        return error_response(
            api,
            request,
            status=500,
            code="server_error",
            message="Something went wrong on the server; it has been logged.",
        )

    api.add_exception_handler(FlintError, flint_error)
    api.add_exception_handler(ValidationError, validation_error)
    api.add_exception_handler(AuthenticationError, authentication_error)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(PermissionDenied, permission_denied)
    api.add_exception_handler(OverflowError, id_out_of_range)
    for unreadable in (MultiPartParserError, TooManyFilesSent, TooManyFieldsSent):
        api.add_exception_handler(unreadable, unreadable_body)
    api.add_exception_handler(Exception, unexpected)


@csrf_exempt  # it changes nothing; a POST to a wrong path deserves the same JSON 404
def api_not_found(request: HttpRequest) -> JsonResponse:
    """Any /api/ path that no endpoint matches: the API's error shape, never an HTML page."""
    return JsonResponse(
        {"error": "not_found", "message": f"No API endpoint at {request.path}."}, status=404
    )
