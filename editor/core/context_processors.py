from __future__ import annotations

from django.conf import settings


def flint(request):
    """Values every page shows: demo-mode banner, version."""
    return {"FLINT_DEMO_MODE": settings.FLINT_DEMO_MODE, "FLINT_PRODUCTION": settings.PRODUCTION}
