"""The base for every HTML form that submits to a service."""

from __future__ import annotations

from django import forms

from tongban.core.errors import DomainError


class DomainForm(forms.Form):
    """A form whose service errors (``DomainError.fields``) land on the fields they name.

    A field the form does not have, or an error naming no field, goes to the form as a whole.
    """

    def add_domain_error(self, error: DomainError) -> None:
        placed = False
        for name, messages in error.fields.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, str(message))
                placed = True
        if not placed:
            self.add_error(None, str(error.message))
