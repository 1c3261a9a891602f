"""The usage dashboard and its CSV export: parse the filters, authorize, call the selectors."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from editor.core.errors import Forbidden
from editor.core.web import flint_page
from editor.usage import charts, selectors
from editor.usage.forms import UsageFilterForm
from editor.usage.selectors import UsageFilters


def _filters(request: HttpRequest) -> tuple[UsageFilterForm, UsageFilters]:
    """The viewer's scope and the filters they asked for; Forbidden outside their teams."""
    scope = selectors.usage_scope(user=request.user)
    asked = request.GET.get("team", "")
    if scope is not None and asked and (not asked.isdigit() or int(asked) not in scope):
        raise Forbidden("You can only see the usage of teams you own.")
    base = UsageFilters(start=timezone.now(), end=timezone.now(), scope=scope)
    form = UsageFilterForm(request.GET or None, **selectors.usage_filter_choices(filters=base))
    filters = form.filters(scope=scope)
    if scope is not None and filters.team_id is None and len(scope) == 1:
        filters = UsageFilters(**{**filters.__dict__, "team_id": scope[0]})
    selectors.usage_events(filters=filters)  # refuses a team outside the scope
    return form, filters


@flint_page
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    figures = selectors.usage_dashboard(filters=filters)
    context: dict[str, Any] = {
        "form": form,
        "filters": filters,
        "figures": figures,
        "charts": charts.chart_data(figures=figures, filters=filters),
        "export_query": request.GET.urlencode(),
        "team_locked": filters.scope is not None and len(filters.scope) == 1,
    }
    return render(request, "usage/dashboard.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


# A cell a spreadsheet would run as a formula is written as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_lines(filters: UsageFilters) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(
        [name.replace("__username", "").replace("__name", "") for name in selectors.EXPORT_FIELDS]
    )
    for row in selectors.usage_export_rows(filters=filters):
        yield writer.writerow(
            [value.isoformat() if i == 0 else _cell(value) for i, value in enumerate(row)]
        )


@flint_page
@require_GET
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    _, filters = _filters(request)
    name = f"flint-usage-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response = StreamingHttpResponse(_csv_lines(filters), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
