"""editor/accounts/management/commands/issue_token.py: a token for scripts, on stdout alone."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from editor.accounts.models import AccessToken
from tests.api.helpers import ApiClient

pytestmark = pytest.mark.django_db


def _issue(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_only_a_working_token(cast):
    out, err = _issue("bob")
    token = out.strip()
    assert out == token + "\n"  # one line, nothing else: TOKEN=$(… issue_token bob)
    assert token.startswith("flint_")
    assert "bob" in err
    assert ApiClient(token).get("/api/me").json()["username"] == "bob"


def test_name_and_days(cast):
    _issue("bob", "--name", "deploy script", "--days", "2")
    row = AccessToken.objects.get(user=cast.bob)
    assert row.name == "deploy script"
    assert timedelta(days=1) < row.expires_at - timezone.now() <= timedelta(days=2)


def test_username_is_case_insensitive(cast):
    _issue("BOB")
    assert AccessToken.objects.filter(user=cast.bob).count() == 1


def test_unknown_user_is_a_command_error(cast):
    with pytest.raises(CommandError, match="no user called 'zed'"):
        _issue("zed")
    assert not AccessToken.objects.exists()


def test_disabled_user_is_a_command_error(cast):
    cast.bob.is_active = False
    cast.bob.save()
    with pytest.raises(CommandError, match="disabled"):
        _issue("bob")
    assert not AccessToken.objects.exists()


def test_bad_days_is_a_command_error(cast):
    with pytest.raises(CommandError, match="between 1 and 3650"):
        _issue("bob", "--days", "0")
    assert not AccessToken.objects.exists()
