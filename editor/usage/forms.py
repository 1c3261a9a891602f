"""The dashboard's filters, read from GET parameters (so a view can be linked and bookmarked)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from editor.usage.selectors import RANGES, UsageFilters

FEATURES = ("inline_completion", "quick_edit", "qa", "task", "review")
MAX_CUSTOM_DAYS = 366


class UsageFilterForm(forms.Form):
    range = forms.ChoiceField(
        choices=[("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"),
                 ("custom", "Custom")],
        required=False,
        initial="7d",
    )  # fmt: skip
    start = forms.DateField(label="From", required=False, widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput({"type": "date"}))
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    user = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    tier = forms.ChoiceField(required=False)
    model = forms.CharField(required=False, max_length=200)
    feature = forms.ChoiceField(required=False)

    def __init__(self, data, *, teams, users, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.fields["team"].choices = [("", "All teams")] + [(str(pk), n) for pk, n in teams]
        self.fields["user"].choices = [("", "Everyone")] + [(str(pk), n) for pk, n in users]
        self.fields["tier"].choices = [("", "All tiers")] + [
            (t, t) for t in settings.FLINT_MODEL_TIERS
        ]
        self.fields["feature"].choices = [("", "All features")] + [(f, f) for f in FEATURES]

    def clean(self):
        data = super().clean()
        if data.get("range") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError("A custom range needs a From and a To date.")
            if start > end:
                raise forms.ValidationError("From must be on or before To.")
            if (end - start).days >= MAX_CUSTOM_DAYS:
                raise forms.ValidationError(f"A range is at most {MAX_CUSTOM_DAYS} days.")
        return data

    def filters(self, *, scope: tuple[int, ...] | None) -> UsageFilters:
        """The filters the form describes (the last 7 days when it says nothing valid)."""
        data = self.cleaned_data if self.is_valid() else {}
        choice = data.get("range") or "7d"
        if choice == "custom":
            start = datetime.combine(data["start"], time.min, tzinfo=UTC)
            end = datetime.combine(data["end"], time.min, tzinfo=UTC) + timedelta(days=1)
        else:
            end = timezone.now()
            start = end - RANGES[choice]
        return UsageFilters(
            start=start,
            end=end,
            scope=scope,
            team_id=data.get("team"),
            user_id=data.get("user"),
            tier=data.get("tier") or "",
            model=data.get("model") or "",
            feature=data.get("feature") or "",
        )
