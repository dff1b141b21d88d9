"""Wallet forms (the holder's own pages)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tongban.licences.services import MAX_AUTHORISATION_DAYS


class ThirdPartyForm(forms.Form):
    grantee_name = forms.CharField(
        label=_("Who may see it"), max_length=200, help_text=_("For example the bank or the landlord.")
    )
    purpose = forms.CharField(label=_("What for"), max_length=200)
    days = forms.IntegerField(
        label=_("For how many days"), min_value=1, max_value=MAX_AUTHORISATION_DAYS, initial=7
    )
