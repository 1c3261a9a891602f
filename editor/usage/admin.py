"""Usage in the admin: the raw rows (read-only), model prices, and per-user/team limits.

The admin index links to the dashboard (its template is overridden below).
"""

from __future__ import annotations

from django.contrib import admin

from editor.usage.limits import limits_forget
from editor.usage.models import ModelPrice, TeamLimit, UsageEvent, UserLimit

admin.site.index_template = "usage/admin_index.html"


@admin.register(UsageEvent)
class UsageEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "user", "room", "feature", "tier", "model",
        "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "ttft_ms",
        "status", "error_kind",
    )  # fmt: skip
    list_filter = ("tier", "feature", "status", "tokens_estimated")
    readonly_fields = [f.name for f in UsageEvent._meta.fields]
    show_full_result_count = False  # a count(*) over millions of rows on every page

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = (
        "model", "prompt_usd_per_million", "cached_prompt_usd_per_million",
        "completion_usd_per_million", "updated_at",
    )  # fmt: skip
    list_editable = (
        "prompt_usd_per_million",
        "cached_prompt_usd_per_million",
        "completion_usd_per_million",
    )
    search_fields = ("model",)


class _ClearsLimitCache(admin.ModelAdmin):
    """This process applies a change at once; the others within limits.CACHE_TTL_S."""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        limits_forget()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        limits_forget()


@admin.register(UserLimit)
class UserLimitAdmin(_ClearsLimitCache):
    list_display = ("user", "requests_per_minute", "concurrent_streams")
    autocomplete_fields = ("user",)
    search_fields = ("user__username",)


@admin.register(TeamLimit)
class TeamLimitAdmin(_ClearsLimitCache):
    list_display = ("team", "monthly_tokens", "task_tokens")
    search_fields = ("team__name",)
