from django.contrib import admin
from django.urls import include, path

from editor.api.api import api
from editor.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("accounts/", include("editor.accounts.urls")),
    path("usage/", include("editor.usage.urls")),
    path("", include("editor.projects.urls")),
    path("", include("editor.rooms.urls")),
]
