"""An API client per cast member, authenticated with a real personal access token."""

from __future__ import annotations

import pytest

from tests.api.helpers import ApiClient


@pytest.fixture
def token_for(db):
    from editor.accounts.tokens import token_create

    def make(user, *, ttl_days: int | None = 30) -> str:
        _, raw = token_create(user=user, name=f"tests for {user.username}", ttl_days=ttl_days)
        return raw

    return make


@pytest.fixture
def api_as(token_for):
    """api_as(cast.alice) is a client acting as alice through a bearer token."""

    def make(user) -> ApiClient:
        return ApiClient(token_for(user))

    return make


@pytest.fixture
def anon():
    return ApiClient()
