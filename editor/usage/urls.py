from __future__ import annotations

from django.urls import path

from editor.usage import views

app_name = "usage"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.csv", views.export_csv, name="export"),
]
