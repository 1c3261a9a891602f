from __future__ import annotations

from django.urls import path

from editor.projects import views

app_name = "projects"
urlpatterns = [
    path("rooms/<int:room_id>/export.zip", views.project_export_download, name="export"),
    path("rooms/<int:room_id>/files/<int:file_id>/raw", views.file_raw_download, name="raw"),
]
