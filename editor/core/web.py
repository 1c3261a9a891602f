"""What every server-rendered page of Flint shares."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from editor.core.errors import Forbidden, NotAuthenticated, NotFound


def flint_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first, then turn a refusal to see the page into a 404 or 403 saying why."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None
        except (Forbidden, NotAuthenticated) as exc:
            raise PermissionDenied(exc.message) from None

    return wrapped
