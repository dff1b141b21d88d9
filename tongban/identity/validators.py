from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CharacterClassValidator:
    """A password must mix letters with digits or symbols (common requirement of 等保 graded protection)."""

    def validate(self, password: str, user: Any = None) -> None:
        has_letter = any(c.isalpha() for c in password)
        has_other = any(c.isdigit() or not c.isalnum() for c in password)
        if not (has_letter and has_other):
            raise ValidationError(
                _("The password must contain letters and at least one digit or symbol."),
                code="password_character_classes",
            )

    def get_help_text(self) -> str:
        return _("Use letters together with digits or symbols.")
