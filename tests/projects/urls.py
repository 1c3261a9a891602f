"""The site's URLs plus the projects router on a test API, until it is mounted in editor/api."""

from __future__ import annotations

from django.urls import include, path
from ninja import NinjaAPI

from editor.api.auth import api_auth
from editor.api.errors import install_error_handlers
from editor.projects.api import router
from webapp.urls import urlpatterns as site_urlpatterns

test_api = NinjaAPI(
    title="Flint projects (test)", urls_namespace="projects-test-api", auth=api_auth
)
install_error_handlers(test_api)
test_api.add_router("", router)

urlpatterns = [
    path("api/", test_api.urls),
    path("", include("editor.projects.urls")),
    *site_urlpatterns,
]
