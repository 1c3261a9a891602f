from django.contrib import admin

from editor.usage.models import UsageEvent


@admin.register(UsageEvent)
class UsageEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "user", "room", "feature", "tier", "model",
        "prompt_tokens", "completion_tokens", "ttft_ms", "status",
    )  # fmt: skip
    list_filter = ("tier", "feature", "status", "tokens_estimated")
    readonly_fields = [f.name for f in UsageEvent._meta.fields]
