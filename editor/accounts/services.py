"""Accounts: sign up and profile changes."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from editor.accounts.models import Profile, color_validator
from editor.core.errors import Conflict, Invalid

# Distinct, readable on white and on dark backgrounds; a user can pick any colour later.
CURSOR_PALETTE = [
    "#e11d48", "#2563eb", "#16a34a", "#d97706", "#7c3aed",
    "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5",
]  # fmt: skip
USERNAME_MAX = 150


def default_cursor_color(username: str) -> str:
    digest = hashlib.sha256(username.encode()).digest()
    return CURSOR_PALETTE[digest[0] % len(CURSOR_PALETTE)]


def profile_get(*, user: AbstractBaseUser) -> Profile:
    """The user's profile, made on first use for accounts created outside sign-up."""
    profile, _ = Profile.objects.get_or_create(
        user=user, defaults={"cursor_color": default_cursor_color(user.get_username())}
    )
    return profile


@transaction.atomic
def user_signup(*, username: str, password: str, display_name: str = "") -> AbstractBaseUser:
    """Create an account and its profile; the first account on a fresh install is staff."""
    User = get_user_model()
    username = username.strip()
    if not username:
        raise Invalid("Choose a username.")
    username_field = User._meta.get_field(User.USERNAME_FIELD)
    try:
        username_field.run_validators(username)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages)) from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"The username {username!r} is taken. Pick another one.", code="taken")
    candidate = User(username=username)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), code="weak_password") from None
    first = settings.FLINT_FIRST_USER_IS_STAFF and not User.objects.exists()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, password=password, is_staff=first, is_superuser=first
            )
    except IntegrityError:
        raise Conflict(
            f"The username {username!r} is taken. Pick another one.", code="taken"
        ) from None
    Profile.objects.create(
        user=user,
        display_name=display_name.strip()[:80],
        cursor_color=default_cursor_color(username),
    )
    return user


@transaction.atomic
def profile_update(
    *,
    user: AbstractBaseUser,
    display_name: str | None = None,
    cursor_color: str | None = None,
    email: str | None = None,
) -> Profile:
    profile = profile_get(user=user)
    if email is not None and email.strip() != user.email:
        user.email = get_user_model().objects.normalize_email(email.strip())
        user.save(update_fields=["email"])
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > 80:
            raise Invalid("A display name has at most 80 characters.")
        profile.display_name = display_name
    if cursor_color is not None:
        try:
            color_validator(cursor_color)
        except ValidationError as exc:
            raise Invalid(" ".join(exc.messages)) from None
        profile.cursor_color = cursor_color.lower()
    profile.save()
    return profile
