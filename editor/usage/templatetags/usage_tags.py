"""The header's link to the usage dashboard, for staff and team owners only."""

from __future__ import annotations

from django import template
from django.urls import reverse

from editor.core.errors import FlintError
from editor.usage.selectors import usage_scope

register = template.Library()


@register.inclusion_tag("usage/nav_link.html", takes_context=True)
def usage_nav_link(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    visible = False
    if user is not None and user.is_authenticated:
        try:
            usage_scope(user=user)
            visible = True
        except FlintError:
            visible = False
    here = getattr(getattr(request, "resolver_match", None), "app_name", "") == "usage"
    return {"visible": visible, "url": reverse("usage:dashboard"), "here": here}


@register.filter
def num(value) -> str:
    """12,345 (or a dash for no value)."""
    if value is None or value == "":
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


@register.filter
def ms(value) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def usd(value) -> str:
    return "—" if value is None else f"${value:,.2f}"


@register.filter
def seconds(value) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


@register.filter
def at(items, index):
    return items[index]
