"""Application forms as data: the schema of a form, its validation, and the Django form built from it.

A service item version carries its application form as a list of field definitions in
``ServiceItemVersion.form_schema`` (ADR 10)::

    [{"key": "child_name", "label": "新生儿姓名", "type": "text", "required": True,
      "help_text": "", "options": [], "validation": {"max_length": 20}}, ...]

``validate_form_schema`` refuses a malformed definition with a stable code and returns it in
normal form (every attribute present, options as ``{"value", "label"}``). ``validate_submission``
checks an applicant's answers against a schema and returns typed values (``int``, ``Decimal``,
``date``, ``bool``, ``list``); ``build_form_class`` makes a Django form whose fields run exactly the
same per-field checks, so a page and the API accept and refuse the same input.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.core import idnumbers
from tongban.core.errors import ValidationFailed

FIELD_TYPES = (
    "text",
    "textarea",
    "integer",
    "decimal",
    "date",
    "choice",
    "multichoice",
    "boolean",
    "phone",
    "resident_id",
    "credit_code",
    "email",
)
CHOICE_TYPES = frozenset({"choice", "multichoice"})
# Which validation rules each type accepts.
_RULES: dict[str, frozenset[str]] = {
    "text": frozenset({"min_length", "max_length", "regex"}),
    "textarea": frozenset({"min_length", "max_length", "regex"}),
    "integer": frozenset({"min_value", "max_value"}),
    "decimal": frozenset({"min_value", "max_value"}),
    "date": frozenset({"min_value", "max_value"}),
    "multichoice": frozenset({"min_length", "max_length"}),
}
# Text is always bounded, even when the definition sets no maximum.
_DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 5000}
MAX_FIELDS = 100
MAX_OPTIONS = 200
MAX_REGEX_LENGTH = 200
_ATTRIBUTES = frozenset({"key", "label", "type", "required", "help_text", "options", "validation"})
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_DECIMAL_LIMIT = Decimal("1e15")


# --- the schema ------------------------------------------------------------------------------


def _schema_error(message: str | Promise, code: str, index: int | None = None) -> ValidationFailed:
    extra = {"field_index": index} if index is not None else None
    return ValidationFailed(message, code=code, fields={"form_schema": [message]}, extra=extra)


def _text(value: Any, *, max_length: int) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > max_length:
        return None
    return value.strip()


def _rule_number(kind: str, rule: str, value: Any) -> Any:
    """The rule's bound in the type of the field's values, or None when it does not fit the type."""
    if isinstance(value, bool):
        return None
    if rule in ("min_length", "max_length"):
        return value if isinstance(value, int) and 0 <= value <= 100000 else None
    if kind == "integer":
        return value if isinstance(value, int) else None
    if kind == "decimal":
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return str(number) if number.is_finite() and abs(number) < _DECIMAL_LIMIT else None
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            return None
    return None  # pragma: no cover - every rule is covered above


def _bound(kind: str, value: Any) -> Any:
    if kind == "decimal":
        return Decimal(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    return value


def _check_validation(kind: str, raw: Any, index: int) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _schema_error(_("The validation rules must be an object."), "validation_invalid", index)
    allowed = _RULES.get(kind, frozenset())
    rules: dict[str, Any] = {}
    for rule, value in raw.items():
        if rule not in {"min_length", "max_length", "min_value", "max_value", "regex"}:
            raise _schema_error(
                _("Unknown validation rule %(rule)s.") % {"rule": rule}, "unknown_validation_rule", index
            )
        if value is None or value == "":
            continue
        if rule not in allowed:
            raise _schema_error(
                _("The rule %(rule)s does not apply to this field type.") % {"rule": rule},
                "validation_not_applicable",
                index,
            )
        if rule == "regex":
            if not isinstance(value, str) or len(value) > MAX_REGEX_LENGTH:
                raise _schema_error(_("The pattern is not a valid regular expression."), "bad_regex", index)
            try:
                re.compile(value)
            except re.error:
                raise _schema_error(
                    _("The pattern is not a valid regular expression."), "bad_regex", index
                ) from None
            rules[rule] = value
            continue
        number = _rule_number(kind, rule, value)
        if number is None:
            raise _schema_error(
                _("The value of the rule %(rule)s does not fit the field type.") % {"rule": rule},
                "validation_value_invalid",
                index,
            )
        rules[rule] = number
    for low, high in (("min_length", "max_length"), ("min_value", "max_value")):
        if low in rules and high in rules and _bound(kind, rules[low]) > _bound(kind, rules[high]):
            raise _schema_error(_("The minimum is greater than the maximum."), "min_exceeds_max", index)
    return rules


def _check_options(kind: str, raw: Any, index: int) -> list[dict[str, str]]:
    if kind not in CHOICE_TYPES:
        if raw:
            raise _schema_error(_("Only choice fields have options."), "options_not_allowed", index)
        return []
    if not isinstance(raw, list) or not raw:
        raise _schema_error(_("A choice field needs at least one option."), "choice_without_options", index)
    if len(raw) > MAX_OPTIONS:
        raise _schema_error(_("A choice field has at most 200 options."), "too_many_options", index)
    options: list[dict[str, str]] = []
    for entry in raw:
        if isinstance(entry, str):
            entry = {"value": entry, "label": entry}
        value = entry.get("value") if isinstance(entry, Mapping) else None
        label = _text(entry.get("label"), max_length=200) if isinstance(entry, Mapping) else None
        if not isinstance(value, str) or not value.strip() or len(value) > 50 or not label:
            raise _schema_error(
                _("Every option needs a value (at most 50 characters) and a label."), "option_invalid", index
            )
        if any(o["value"] == value.strip() for o in options):
            raise _schema_error(_("Two options have the same value."), "duplicate_option", index)
        options.append({"value": value.strip(), "label": label})
    return options


def validate_form_schema(schema: Any) -> list[dict[str, Any]]:
    """The definition in normal form, or ``ValidationFailed`` with the first problem's code."""
    if schema is None:
        return []
    if not isinstance(schema, list):
        raise _schema_error(_("A form definition is a list of fields."), "schema_not_list")
    if len(schema) > MAX_FIELDS:
        raise _schema_error(_("A form has at most 100 fields."), "too_many_fields")
    fields: list[dict[str, Any]] = []
    keys: set[str] = set()
    for index, raw in enumerate(schema):
        if not isinstance(raw, Mapping):
            raise _schema_error(_("Every field of a form is an object."), "field_not_object", index)
        unknown = sorted(set(raw) - _ATTRIBUTES)
        if unknown:
            raise _schema_error(
                _("Unknown field attributes: %(names)s") % {"names": ", ".join(map(str, unknown))},
                "unknown_attribute",
                index,
            )
        key = raw.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            raise _schema_error(
                _("A field key is a lower-case letter followed by letters, digits or underscores."),
                "key_invalid",
                index,
            )
        if key in keys:
            raise _schema_error(_("Two fields have the key %(key)s.") % {"key": key}, "duplicate_key", index)
        keys.add(key)
        label = _text(raw.get("label"), max_length=200)
        if not label:
            raise _schema_error(
                _("Every field needs a label of at most 200 characters."), "label_required", index
            )
        kind = raw.get("type")
        if kind not in FIELD_TYPES:
            raise _schema_error(_("Unknown field type %(type)s.") % {"type": kind}, "unknown_type", index)
        help_text = _text(raw.get("help_text"), max_length=500)
        if help_text is None:
            raise _schema_error(_("The help text is at most 500 characters."), "help_text_invalid", index)
        required = raw.get("required", False)
        if not isinstance(required, bool):
            raise _schema_error(
                _("Say with true or false whether the field is required."), "required_invalid", index
            )
        options = _check_options(kind, raw.get("options"), index)
        rules = _check_validation(kind, raw.get("validation"), index)
        fields.append(
            {
                "key": key,
                "label": label,
                "type": kind,
                "required": required,
                "help_text": help_text,
                "options": options,
                "validation": rules,
            }
        )
    return fields


# --- the answers -----------------------------------------------------------------------------


class _FieldError(Exception):
    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _clean_text(field: dict[str, Any], value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _FieldError(_("Enter text."))
    text = str(value).strip()
    if field["type"] == "text" and ("\n" in text or "\r" in text):
        raise _FieldError(_("Enter a single line."))
    rules = field["validation"]
    max_length = rules.get("max_length", _DEFAULT_MAX_LENGTH[field["type"]])
    if len(text) > max_length:
        raise _FieldError(_("Enter at most %(n)s characters.") % {"n": max_length})
    if len(text) < rules.get("min_length", 0):
        raise _FieldError(_("Enter at least %(n)s characters.") % {"n": rules["min_length"]})
    if "regex" in rules and not re.fullmatch(rules["regex"], text):
        raise _FieldError(_("This answer is not in the required format."))
    return text


def _check_range(field: dict[str, Any], value: Any) -> None:
    rules = field["validation"]
    if "min_value" in rules and value < _bound(field["type"], rules["min_value"]):
        raise _FieldError(_("Enter a value of at least %(n)s.") % {"n": rules["min_value"]})
    if "max_value" in rules and value > _bound(field["type"], rules["max_value"]):
        raise _FieldError(_("Enter a value of at most %(n)s.") % {"n": rules["max_value"]})


def _clean_integer(field: dict[str, Any], value: Any) -> int:
    if isinstance(value, bool):
        raise _FieldError(_("Enter a whole number."))
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,18}\s*", value):
        number = int(value)
    else:
        raise _FieldError(_("Enter a whole number."))
    if abs(number) >= 10**18:
        raise _FieldError(_("Enter a whole number."))
    _check_range(field, number)
    return number


def _clean_decimal(field: dict[str, Any], value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal | float):
        raise _FieldError(_("Enter a number."))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _FieldError(_("Enter a number.")) from None
    if not number.is_finite() or abs(number) >= _DECIMAL_LIMIT:
        raise _FieldError(_("Enter a number."))
    _check_range(field, number)
    return number


def _clean_date(field: dict[str, Any], value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise _FieldError(_("Enter a date such as 2026-01-31."))
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise _FieldError(_("Enter a date such as 2026-01-31.")) from None
    else:
        raise _FieldError(_("Enter a date such as 2026-01-31."))
    _check_range(field, day)
    return day


def _clean_choice(field: dict[str, Any], value: Any) -> str:
    values = [o["value"] for o in field["options"]]
    if not isinstance(value, str) or value not in values:
        raise _FieldError(_("Choose one of the listed options."))
    return value


def _clean_multichoice(field: dict[str, Any], value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise _FieldError(_("Choose from the listed options."))
    allowed = [o["value"] for o in field["options"]]
    chosen = set()
    for entry in value:
        if not isinstance(entry, str) or entry not in allowed:
            raise _FieldError(_("Choose from the listed options."))
        chosen.add(entry)
    rules = field["validation"]
    if len(chosen) < rules.get("min_length", 0):
        raise _FieldError(_("Choose at least %(n)s options.") % {"n": rules["min_length"]})
    if "max_length" in rules and len(chosen) > rules["max_length"]:
        raise _FieldError(_("Choose at most %(n)s options.") % {"n": rules["max_length"]})
    return [v for v in allowed if v in chosen]  # in the order of the definition


def _clean_boolean(field: dict[str, Any], value: Any) -> bool:
    if isinstance(value, bool):
        answer = value
    elif isinstance(value, str) and value.strip().lower() in {"true", "on", "1", "yes"}:
        answer = True
    elif isinstance(value, str) and value.strip().lower() in {"false", "off", "0", "no", ""}:
        answer = False
    else:
        raise _FieldError(_("Answer yes or no."))
    if field["required"] and not answer:
        raise _FieldError(_("Tick this box to continue."))
    return answer


def _clean_phone(field: dict[str, Any], value: Any) -> str:
    phone = value.strip().replace(" ", "") if isinstance(value, str) else ""
    if not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
        raise _FieldError(_("Enter an 11-digit mobile number or a landline number with its area code."))
    return phone


def _clean_identifier(field: dict[str, Any], value: Any) -> str:
    if not isinstance(value, str):
        raise _FieldError(_("Enter text."))
    check = (
        idnumbers.validate_resident_id if field["type"] == "resident_id" else idnumbers.validate_credit_code
    )
    try:
        return check(value)
    except ValidationFailed as exc:
        raise _FieldError(exc.message) from None


def _clean_email(field: dict[str, Any], value: Any) -> str:
    email = value.strip() if isinstance(value, str) else ""
    try:
        validate_email(email)
    except DjangoValidationError:
        raise _FieldError(_("Enter a valid e-mail address.")) from None
    if len(email) > 254:
        raise _FieldError(_("Enter a valid e-mail address."))
    return email


_CLEANERS = {
    "text": _clean_text,
    "textarea": _clean_text,
    "integer": _clean_integer,
    "decimal": _clean_decimal,
    "date": _clean_date,
    "choice": _clean_choice,
    "multichoice": _clean_multichoice,
    "boolean": _clean_boolean,
    "phone": _clean_phone,
    "resident_id": _clean_identifier,
    "credit_code": _clean_identifier,
    "email": _clean_email,
}


def clean_field(field: dict[str, Any], value: Any) -> Any:
    """One answer, typed; ``_FieldError`` when it does not fit. ``field`` is in normal form."""
    if field["type"] == "boolean":
        return _clean_boolean(field, False if value is None else value)
    if _is_empty(value):
        if field["required"]:
            raise _FieldError(_("This field is required."))
        return [] if field["type"] == "multichoice" else None
    return _CLEANERS[field["type"]](field, value)


def validate_submission(schema: list[dict[str, Any]], data: Mapping[str, Any]) -> dict[str, Any]:
    """The answers in ``data`` checked against ``schema`` (normal form), one typed value per field.

    Raises ``ValidationFailed`` (code ``form_invalid``) listing every answer to correct, or
    (code ``unknown_form_field``) when ``data`` holds a key the form does not have.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("The form answers must be an object."), code="form_invalid")
    known = {field["key"] for field in schema}
    unknown = sorted(str(key) for key in data if key not in known)
    if unknown:
        message = _("The form has no fields named %(names)s.") % {"names": ", ".join(unknown)}
        raise ValidationFailed(
            message, code="unknown_form_field", fields={name: [message] for name in unknown}
        )
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str | Promise]] = {}
    for field in schema:
        try:
            cleaned[field["key"]] = clean_field(field, data.get(field["key"]))
        except _FieldError as exc:
            errors[field["key"]] = [exc.message]
    if errors:
        raise ValidationFailed(
            _("Some answers on the form need correcting."), code="form_invalid", fields=errors
        )
    return cleaned


def submission_to_json(cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """Cleaned answers as JSON values: decimals as strings, dates in ISO form."""
    result: dict[str, Any] = {}
    for key, value in cleaned.items():
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        result[key] = value
    return result


# --- the Django form -------------------------------------------------------------------------


class SchemaField(forms.Field):
    """A form field whose cleaning is ``clean_field``: the same rules as the API."""

    def __init__(self, *, definition: dict[str, Any], **kwargs: Any) -> None:
        self.definition = definition
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        try:
            return clean_field(self.definition, value)
        except _FieldError as exc:
            raise forms.ValidationError(str(exc.message), code="invalid") from None


def _widget(field: dict[str, Any]) -> forms.Widget:
    kind = field["type"]
    choices = [(o["value"], o["label"]) for o in field["options"]]
    rules = field["validation"]
    if kind == "textarea":
        return forms.Textarea(attrs={"rows": 4, "maxlength": rules.get("max_length", 5000)})
    if kind == "integer" or kind == "decimal":
        attrs: dict[str, Any] = {"step": "1" if kind == "integer" else "any"}
        for rule, attr in (("min_value", "min"), ("max_value", "max")):
            if rule in rules:
                attrs[attr] = rules[rule]
        return forms.NumberInput(attrs=attrs)
    if kind == "date":
        return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    if kind == "choice":
        return forms.Select(choices=[("", "---------"), *choices])
    if kind == "multichoice":
        return forms.CheckboxSelectMultiple(choices=choices)
    if kind == "boolean":
        return forms.CheckboxInput()
    if kind == "phone":
        return forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"})
    if kind == "email":
        return forms.EmailInput(attrs={"autocomplete": "email"})
    if kind in ("resident_id", "credit_code"):
        return forms.TextInput(attrs={"maxlength": 18, "autocomplete": "off"})
    return forms.TextInput(attrs={"maxlength": rules.get("max_length", 200)})


def build_form_class(schema: list[dict[str, Any]], *, name: str = "ApplicationForm") -> type[forms.Form]:
    """A Django form class for ``schema`` (normal form), in the schema's field order."""
    fields = {
        field["key"]: SchemaField(
            definition=field,
            label=field["label"],
            help_text=field["help_text"],
            required=field["required"],
            widget=_widget(field),
        )
        for field in schema
    }
    return type(name, (forms.Form,), fields)
