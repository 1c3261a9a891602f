from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
async def _close_collab_hub():
    """Each async test has its own loop, so its own hub: stop it before the loop ends."""
    yield
    import asyncio

    from editor.collab import hub

    current = hub._hubs.get(asyncio.get_running_loop())
    if current is not None:
        await current.close()
