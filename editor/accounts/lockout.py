"""Log-in lockout (django-axes): who the client is, and what a locked-out person sees."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from editor.accounts.forms import LoginForm


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, which daphne sets from X-Forwarded-For only behind --proxy-headers."""
    return request.META.get("REMOTE_ADDR")


def lockout_message() -> str:
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    return (
        "Too many failed log-ins for this account from your address. "
        f"Wait {minutes} minutes, then try again."
    )


def locked_out_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The login page again (site or admin login alike), saying why, with status 429."""
    form = LoginForm(request, initial={"username": request.POST.get("username", "")})
    form.cleaned_data = {}  # unbound: add_error needs it to exist
    form.add_error(None, lockout_message())
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=429)
