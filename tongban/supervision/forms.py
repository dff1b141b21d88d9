"""Forms of the supervision pages. They parse; the services decide (their errors land on the fields)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tongban.core.forms import DomainForm
from tongban.supervision.choices import Level, Trigger


class FilterForm(forms.Form):
    """The board's filters as a form, for showing them; ``selectors.parse_filters`` checks them."""

    department = forms.ChoiceField(label=_("Department"), required=False)
    item = forms.ChoiceField(label=_("Service item"), required=False)
    level = forms.ChoiceField(
        label=_("Level"),
        required=False,
        choices=[
            ("", _("Warning or above")),
            ("warning", Level.WARNING.label),
            ("yellow", Level.YELLOW.label),
            ("red", Level.RED.label),
        ],
    )
    trigger = forms.ChoiceField(
        label=_("Trigger"), required=False, choices=[("", _("Any trigger")), *Trigger.choices]
    )
    number = forms.CharField(
        label=_("Case number"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def __init__(
        self,
        *args: object,
        departments: list[tuple[int, str]],
        items: list[tuple[int, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        department: forms.ChoiceField = self.fields["department"]  # type: ignore[assignment]
        department.choices = [("", _("All departments")), *departments]
        item: forms.ChoiceField = self.fields["item"]  # type: ignore[assignment]
        item.choices = [("", _("All items")), *items]


class NoteForm(DomainForm):
    text = forms.CharField(
        label=_("Handling note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    close = forms.BooleanField(label=_("Handled: close this finding"), required=False)


class PolicyForm(DomainForm):
    warning_days = forms.IntegerField(
        label=_("Warning when at most this many working days remain"),
        min_value=0,
        max_value=30,
        help_text=_("0 warns on the last day only."),
    )
    red_days = forms.IntegerField(
        label=_("Red card when overdue by at least this many working days"),
        min_value=1,
        max_value=60,
        help_text=_("Overdue by fewer working days is a yellow card."),
    )
    unaccepted_days = forms.IntegerField(
        label=_("Working days an application may wait for acceptance"),
        min_value=1,
        max_value=30,
        help_text=_("Longer, and the application is overdue for acceptance (the same ladder of levels)."),
    )
