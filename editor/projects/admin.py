from __future__ import annotations

from django.contrib import admin

from editor.projects.models import ProjectFile, Upload


@admin.register(ProjectFile)
class ProjectFileAdmin(admin.ModelAdmin):
    list_display = ["path", "room", "kind", "editable", "size", "updated_at"]
    list_filter = ["kind", "editable"]
    search_fields = ["path"]
    readonly_fields = ["doc_id", "sha256", "blob"]
    exclude = ["text"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["source_name", "room", "status", "source_size", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["plan", "error"]
