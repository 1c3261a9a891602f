"""Account pages: sign up, log in, profile and personal access tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from editor.accounts.forms import LoginForm, ProfileForm, SignupForm, TokenCreateForm
from editor.accounts.services import profile_get, profile_update, user_signup
from editor.accounts.tokens import token_create, token_get, token_revoke, tokens_for_user
from editor.core.errors import FlintError, NotFound

# Which form field a sign-up error belongs to, so the message appears next to it.
_SIGNUP_ERROR_FIELDS = {"taken": "username", "weak_password": "password1"}


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


class FlintLoginView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_signup(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                display_name=form.cleaned_data["display_name"],
            )
        except FlintError as exc:
            form.add_error(_SIGNUP_ERROR_FIELDS.get(exc.code), exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to Flint, {profile_get(user=user).name}.")
            return redirect(_safe_next(request))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


def _profile_page(
    request: HttpRequest,
    *,
    profile_form: ProfileForm | None = None,
    token_form: TokenCreateForm | None = None,
    new_token: str | None = None,
    status: int = 200,
) -> HttpResponse:
    profile = profile_get(user=request.user)
    context = {
        "profile": profile,
        "profile_form": profile_form
        or ProfileForm(
            initial={
                "display_name": profile.display_name,
                "cursor_color": profile.cursor_color,
                "email": request.user.email,
            }
        ),
        "token_form": token_form or TokenCreateForm(),
        "tokens": tokens_for_user(user=request.user),
        "new_token": new_token,
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _profile_page(request)
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, profile_form=form, status=400)
    try:
        profile_update(
            user=request.user,
            display_name=form.cleaned_data["display_name"],
            cursor_color=form.cleaned_data["cursor_color"],
            email=form.cleaned_data["email"],
        )
    except FlintError as exc:
        messages.error(request, exc.message)
        return _profile_page(request, profile_form=form, status=exc.status)
    messages.success(request, "Profile saved.")
    return redirect("profile")


@login_required
@require_POST
def token_create_view(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, token_form=form, status=400)
    try:
        token, raw = token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            ttl_days=form.cleaned_data["expires_in_days"],
        )
    except FlintError as exc:
        messages.error(request, exc.message)
        return _profile_page(request, token_form=form, status=exc.status)
    # Rendered, not redirected: the secret exists only in this response, never in a
    # session or a URL, so it cannot be shown a second time.
    messages.success(request, f"Token “{token.name}” created.")
    return _profile_page(request, new_token=raw)


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = token_get(user=request.user, token_id=token_id)
        token_revoke(token=token, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from None
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("profile")
