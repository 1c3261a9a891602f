from django.contrib import admin
from django.urls import include, path, re_path

from editor.api.api import api
from editor.api.errors import api_not_found
from editor.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/", api_not_found),  # any rest, newlines included
    path("accounts/", include("editor.accounts.urls")),
    path("usage/", include("editor.usage.urls")),
    path("", include("editor.projects.urls")),
    path("", include("editor.demo_room.urls")),
    path("", include("editor.rooms.urls")),
]
