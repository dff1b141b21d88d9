"""Forms of the review pages. They parse; the services decide (their errors land on the fields)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.appointments.models import Window
from tongban.core.forms import DomainForm
from tongban.reviews.choices import AppealGround, CallbackMethod, Level, indicators_of

SCORE_CHOICES = [(str(n), str(n)) for n in range(5, 0, -1)]
SCORE_PREFIX = "score_"


class RatingForm(DomainForm):
    """The five levels, the channel's indicators (1..5 each, optional) and a comment."""

    level = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[(str(v), label) for v, label in Level.choices],
        coerce=int,
        widget=forms.RadioSelect,
        required=False,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=1000,
        help_text=_("Required when you are dissatisfied: say what went wrong."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, channel: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.indicators = list(indicators_of(channel))
        for key, label in self.indicators:
            self.fields[SCORE_PREFIX + key] = forms.ChoiceField(
                label=label, choices=SCORE_CHOICES, required=False, widget=forms.RadioSelect
            )

    @property
    def score_fields(self) -> list[forms.BoundField]:
        return [self[SCORE_PREFIX + key] for key, _label in self.indicators]

    def add_domain_error(self, error: Any) -> None:
        # The service names indicator errors by the indicator's key.
        error.fields = {
            (SCORE_PREFIX + name if SCORE_PREFIX + name in self.fields else name): messages
            for name, messages in error.fields.items()
        }
        super().add_domain_error(error)

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "level": data.get("level"),
            "scores": {key: data.get(SCORE_PREFIX + key) for key, _label in self.indicators},
            "comment": data.get("comment", ""),
        }


class VisitStartForm(DomainForm):
    window = forms.ModelChoiceField(
        label=_("Window"), queryset=Window.objects.none(), required=False, empty_label=_("(no window)")
    )
    case_number = forms.CharField(
        label=_("Case number"),
        required=False,
        max_length=64,
        help_text=_("Optional: the case the visitor came about; the rating then goes to its department."),
    )

    def __init__(self, *args: Any, windows: QuerySet[Window], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["window"]
        field.queryset = windows


class CallbackForm(DomainForm):
    at = forms.DateTimeField(
        label=_("Called at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    method = forms.ChoiceField(label=_("How"), choices=CallbackMethod.choices)
    applicant_said = forms.CharField(
        label=_("What the applicant said"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"at": timezone.localtime().replace(second=0, microsecond=0)})
        super().__init__(*args, **kwargs)

    def when(self) -> dt.datetime | None:
        value = self.cleaned_data.get("at")
        return value if isinstance(value, dt.datetime) else None


class CloseForm(DomainForm):
    result = forms.CharField(
        label=_("Rectification result"),
        required=False,
        max_length=2000,
        help_text=_("What was put right; the applicant reads it and is invited to rate again."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class AppealForm(DomainForm):
    ground = forms.ChoiceField(label=_("Ground"), choices=AppealGround.choices)
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )


class DecisionForm(DomainForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("uphold", _("Uphold: annul the rating")), ("reject", _("Reject: the rating stands"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Reasons"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class PolicyForm(DomainForm):
    division_prefix = forms.CharField(label=_("Division code prefix"), max_length=12, required=False)
    working_days = forms.IntegerField(label=_("Working days to rectify"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def period(self, default: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
        if not self.is_valid():
            return default
        start = self.cleaned_data.get("start") or default[0]
        end = self.cleaned_data.get("end") or default[1]
        if end < start:
            start, end = end, start
        if (end - start).days > 3 * 366:  # a bounded query for an anonymous page
            start = end - dt.timedelta(days=3 * 366)
        return start, end
