"""Forms of the exchange's staff pages. They parse; the services decide (their errors land on the
fields through ``DomainForm``), so a field the service checks is left optional here on purpose."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tongban.catalog.models import ServiceItem
from tongban.core.forms import DomainForm
from tongban.exchange.choices import GrantStatus, Operation, Outcome, SourceKind
from tongban.exchange.models import UpstreamSystem
from tongban.identity.models import Department
from tongban.resources.models import DataResource

# Dates a filter may name: wide enough for any record, narrow enough that a day after the end exists.
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2099, 12, 31)
DEFAULT_GRANT_DAYS = 365
DATE_INPUT = {"type": "date"}
ISO_DATE = "%Y-%m-%d"  # what <input type="date"> reads, whatever the language


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs=DATE_INPUT, format=ISO_DATE)


# The labels of the exchange's choices (in the message context "exchange", see choices.py).
GRANT_STATUSES = GrantStatus.choices
OUTCOMES = Outcome.choices
OPERATIONS = Operation.choices


def _department_label(department: Department) -> str:
    return department.name


def _resource_label(resource: DataResource) -> str:
    return f"{resource.code} {resource.name}"


def _service_item_label(item: ServiceItem) -> str:
    name = item.current_version.name if item.current_version else item.implementation_code
    return f"{name}（{item.department.short_name or item.department.name}）"


class DateRangeMixin:
    """``since``/``until`` (both inclusive) within 2000-2099, the end not before the start."""

    def clean_range(self, data: dict[str, Any]) -> None:
        form: Any = self
        for name in ("since", "until"):
            value = data.get(name)
            if value and not EARLIEST <= value <= LATEST:
                form.add_error(
                    name,
                    _("Choose a date between %(first)s and %(last)s.")
                    % {"first": EARLIEST.isoformat(), "last": LATEST.isoformat()},
                )
                data[name] = None
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            form.add_error("until", _("The end date is before the start date."))


# --- grants ------------------------------------------------------------------------------------


class GrantRequestForm(DomainForm):
    consumer = forms.ModelChoiceField(
        label=_("Applying department"), queryset=Department.objects.none(), empty_label=None
    )
    items = forms.MultipleChoiceField(
        label=_("Data items"), required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What your department needs the data for, e.g. checking applicants' identity at intake."),
    )
    service_items = forms.ModelMultipleChoiceField(
        label=_("For service items"),
        queryset=ServiceItem.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("The service items the data serves (optional; hold Ctrl to choose several)."),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=_date_input())
    valid_until = forms.DateField(label=_("Valid until"), widget=_date_input())
    rate_per_minute = forms.IntegerField(
        label=_("Calls per minute"),
        initial=600,
        help_text=_("The most calls your systems make in a minute; more are refused with 429."),
    )

    def __init__(
        self,
        *args: Any,
        resource: DataResource,
        departments: QuerySet[Department],
        service_items: QuerySet[ServiceItem],
        **kwargs: Any,
    ) -> None:
        today = timezone.localdate()
        kwargs.setdefault(
            "initial", {"valid_from": today, "valid_until": today + dt.timedelta(days=DEFAULT_GRANT_DAYS)}
        )
        super().__init__(*args, **kwargs)
        # A data officer applies for their own department: no choice to make, nothing to forge.
        choices = list(departments[:2])
        self.fixed_consumer: Department | None = choices[0] if len(choices) == 1 else None
        if self.fixed_consumer is not None:
            del self.fields["consumer"]
        else:
            consumer: Any = self.fields["consumer"]
            consumer.queryset = departments
            consumer.label_from_instance = _department_label
        self.fields["items"].choices = [(i.key, i.name) for i in resource.items.all()]  # type: ignore[attr-defined]
        chosen: Any = self.fields["service_items"]
        chosen.queryset = service_items
        chosen.label_from_instance = _service_item_label

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "consumer": self.fixed_consumer or data["consumer"],
            "items": data["items"],
            "purpose": data["purpose"],
            "service_items": list(data["service_items"]),
            "valid_from": data["valid_from"],
            "valid_until": data["valid_until"],
            "rate_per_minute": data["rate_per_minute"],
        }


class NoteForm(DomainForm):
    reason = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(DomainForm):
    reason = forms.CharField(
        label=pgettext_lazy("exchange", "Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class EmptyForm(DomainForm):
    """An action that takes nothing but the click (resume)."""


class GrantFilterForm(forms.Form):
    side = forms.ChoiceField(
        label=_("Side"),
        required=False,
        choices=[
            ("", _("Both sides")),
            ("consumer", _("As consumer (our applications)")),
            ("provider", _("As provider (our resources)")),
        ],
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *GRANT_STATUSES]
    )
    resource = forms.ModelChoiceField(
        label=_("Resource"),
        required=False,
        queryset=DataResource.objects.none(),
        empty_label=_("All resources"),
    )

    def __init__(self, *args: Any, resources: QuerySet[DataResource], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["resource"]
        field.queryset = resources
        field.label_from_instance = _resource_label


class GrantableFilterForm(forms.Form):
    q = forms.CharField(label=_("Name, code or summary"), required=False, max_length=50)
    provider = forms.ModelChoiceField(
        label=_("Provider"),
        required=False,
        queryset=Department.objects.none(),
        empty_label=_("All providers"),
    )

    def __init__(self, *args: Any, providers: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["provider"]
        field.queryset = providers
        field.label_from_instance = _department_label


# --- call records and statistics ---------------------------------------------------------------


class CallFilterForm(DateRangeMixin, forms.Form):
    side = forms.ChoiceField(
        label=_("Calls"),
        required=False,
        choices=[
            ("", _("On our data and by our systems")),
            ("provider", _("Who called our data")),
            ("consumer", _("Our systems' calls")),
        ],
    )
    resource = forms.ModelChoiceField(
        label=_("Resource"),
        required=False,
        queryset=DataResource.objects.none(),
        empty_label=_("All resources"),
    )
    consumer = forms.ModelChoiceField(
        label=_("Consumer department"),
        required=False,
        queryset=Department.objects.none(),
        empty_label=_("All departments"),
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("Any outcome")), *OUTCOMES]
    )
    since = forms.DateField(label=_("From"), required=False, widget=_date_input())
    until = forms.DateField(label=_("To"), required=False, widget=_date_input())

    def __init__(
        self, *args: Any, resources: QuerySet[DataResource], departments: QuerySet[Department], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        resource: Any = self.fields["resource"]
        resource.queryset = resources
        resource.label_from_instance = _resource_label
        consumer: Any = self.fields["consumer"]
        consumer.queryset = departments
        consumer.label_from_instance = _department_label

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_range(data)
        return data


class StatsFilterForm(DateRangeMixin, forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=_date_input())
    until = forms.DateField(label=_("To"), required=False, widget=_date_input())
    resource = forms.ModelChoiceField(
        label=_("Resource"),
        required=False,
        queryset=DataResource.objects.none(),
        empty_label=_("All resources"),
    )
    consumer = forms.ModelChoiceField(
        label=_("Consumer department"),
        required=False,
        queryset=Department.objects.none(),
        empty_label=_("All departments"),
    )

    def __init__(
        self, *args: Any, resources: QuerySet[DataResource], departments: QuerySet[Department], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        resource: Any = self.fields["resource"]
        resource.queryset = resources
        resource.label_from_instance = _resource_label
        consumer: Any = self.fields["consumer"]
        consumer.queryset = departments
        consumer.label_from_instance = _department_label

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_range(data)
        return data


# --- upstream systems and sources --------------------------------------------------------------


class UpstreamForm(DomainForm):
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none())
    name = forms.CharField(label=pgettext_lazy("exchange", "Name"), required=False, max_length=100)
    base_url = forms.CharField(
        label=_("Base URL"),
        required=False,
        max_length=200,
        help_text=_("e.g. https://mzj.example.gov.cn/api; the source's path is appended to it."),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        max_length=200,
        help_text=_("Sent to the system as a bearer token. It is stored and never shown again."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )
    timeout_seconds = forms.FloatField(label=_("Timeout (seconds)"), initial=2.0)
    retries = forms.IntegerField(label=_("Retries"), initial=1)
    failure_threshold = forms.IntegerField(
        label=_("Failures before the circuit opens"), initial=5, min_value=1, max_value=1000
    )
    reset_seconds = forms.IntegerField(
        label=_("Seconds before trying an open circuit again"), initial=30, min_value=1, max_value=86400
    )

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["department"]
        field.queryset = departments
        field.label_from_instance = _department_label


DATASETS = [
    ("", _("— choose —")),
    ("population", _("Population base")),
    ("legal_entity", _("Legal-entity base")),
]


class SourceForm(DomainForm):
    kind = forms.ChoiceField(label=_("Source"), choices=SourceKind.choices, widget=forms.RadioSelect)
    dataset = forms.ChoiceField(
        label=_("Base dataset"), required=False, choices=DATASETS, help_text=_("For a base database.")
    )
    upstream = forms.ModelChoiceField(
        label=_("Upstream system"),
        required=False,
        queryset=UpstreamSystem.objects.none(),
        empty_label=_("— choose —"),
        help_text=_("For a department system."),
    )
    path = forms.CharField(
        label=_("Upstream path"),
        required=False,
        max_length=200,
        help_text=_(
            "Appended to the system's base URL; {key} is replaced by the record's key, e.g. /marriages/{key}."
        ),
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )

    def __init__(self, *args: Any, upstreams: QuerySet[UpstreamSystem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["upstream"]
        field.queryset = upstreams
        field.label_from_instance = lambda u: f"{u.name}（{u.department.name}）"
