"""The GB/T 21063.3 core metadata of a resource as plain values, and the rules they must follow.

``clean_resource`` turns what a form, an import row or a caller hands over into a ``ResourceSpec``,
or raises one ``ValidationFailed`` naming every problem at once: each on the field it concerns
(``items.3.length`` for the fourth data item), each with its own stable code in
``extra["problems"]``. A single problem gives its code to the error itself, so callers and tests can
tell the rules apart; several give ``resource_invalid``. No database access here: the services add
the checks that need it (related resources, name taken, published items kept).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import ValidationFailed
from tongban.resources.choices import (
    DataType,
    OpenType,
    ResourceCategory,
    ResourceFormat,
    SharingMode,
    SharingType,
    UpdateCycle,
)

NAME_MAX = 200
SUMMARY_MAX = 2000
TEXT_MAX = 2000
ITEM_NAME_MAX = 100
ITEM_DESCRIPTION_MAX = 255
ITEMS_MAX = 300
ITEM_LENGTH_MAX = 100_000
RELATED_MAX = 50

_ITEM_CODE = re.compile(r"^[0-9]{2}$")
_HEADING_CODE = re.compile(r"^[0-9]{3}$")
_SUBHEADING_CODE = re.compile(r"^[0-9]{0,3}$")
_ITEM_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Types whose values have a length that must be declared (characters of text or digits of a code).
_LENGTH_REQUIRED = {DataType.STRING, DataType.CODE}
# Types for which a length means nothing; a length given is dropped.
_NO_LENGTH = {DataType.DATE, DataType.DATETIME, DataType.BOOLEAN}

# The metadata fields of a resource besides its data items, in the order forms and sheets show them.
METADATA_FIELDS: tuple[str, ...] = (
    "category",
    "item_code",
    "heading_code",
    "subheading_code",
    "name",
    "summary",
    "format",
    "sharing_type",
    "sharing_conditions",
    "not_shared_basis",
    "sharing_modes",
    "open_type",
    "open_conditions",
    "update_cycle",
    "related_codes",
)
CLASSIFICATION_FIELDS = ("category", "item_code", "heading_code", "subheading_code")
ITEM_FIELDS: tuple[str, ...] = ("key", "name", "data_type", "length", "sensitive", "is_key", "description")


@dataclass(frozen=True)
class ItemSpec:
    key: str
    name: str
    data_type: str
    length: int | None = None
    sensitive: bool = False
    is_key: bool = False
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ResourceSpec:
    category: str
    item_code: str
    heading_code: str
    subheading_code: str
    name: str
    summary: str
    format: str
    sharing_type: str
    sharing_conditions: str
    not_shared_basis: str
    sharing_modes: tuple[str, ...]
    open_type: str
    open_conditions: str
    update_cycle: str
    related_codes: tuple[str, ...]
    items: tuple[ItemSpec, ...] = field(default=())

    @property
    def classification(self) -> str:
        """前段码: 类 + 项 + 目 + 细目."""
        return f"{self.category}{self.item_code}{self.heading_code}{self.subheading_code}"

    def metadata(self) -> dict[str, Any]:
        """The metadata fields as JSON-ready values (what a correction stores in ``data``)."""
        values = {name: getattr(self, name) for name in METADATA_FIELDS}
        values["sharing_modes"] = list(self.sharing_modes)
        values["related_codes"] = list(self.related_codes)
        return values

    def items_as_dicts(self) -> list[dict[str, Any]]:
        return [item.as_dict() for item in self.items]

    def as_values(self) -> dict[str, Any]:
        return {**self.metadata(), "items": self.items_as_dicts()}


@dataclass
class Problems:
    """Every problem found in one set of values, each on its field with its own code."""

    entries: list[tuple[str, str, str | Promise]] = field(default_factory=list)

    def add(self, field_name: str, code: str, message: str | Promise) -> None:
        self.entries.append((field_name, code, message))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def error(self) -> ValidationFailed:
        fields: dict[str, list[str | Promise]] = {}
        for name, _code, message in self.entries:
            fields.setdefault(name, []).append(message)
        _field, first_code, first_message = self.entries[0]
        single = len(self.entries) == 1
        return ValidationFailed(
            first_message
            if single
            else _("The resource has %(n)s problems; see the fields.") % {"n": len(self.entries)},
            code=first_code if single else "resource_invalid",
            fields=fields,
            extra={
                "problems": [
                    {"field": name, "code": code, "message": str(message)}
                    for name, code, message in self.entries
                ]
            },
        )

    def raise_if_any(self) -> None:
        if self.entries:
            raise self.error()


# --- single values ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _choice(
    problems: Problems, name: str, value: Any, choices: Any, code: str, message: str | Promise
) -> str:
    text = _text(value)
    if text in choices.values:
        return text
    problems.add(name, code, message)
    return ""


def _bounded(problems: Problems, name: str, value: Any, max_length: int, code: str) -> str:
    text = _text(value)
    if len(text) > max_length:
        problems.add(name, code, _("At most %(n)s characters, please.") % {"n": max_length})
    return text


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "是"}
    return bool(value)


def _length(problems: Problems, name: str, value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        problems.add(name, "item_length_invalid", _("Enter the length as a whole number."))
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        problems.add(name, "item_length_invalid", _("Enter the length as a whole number."))
        return None
    if not 1 <= number <= ITEM_LENGTH_MAX:
        problems.add(
            name,
            "item_length_invalid",
            _("The length must be between 1 and %(max)s.") % {"max": ITEM_LENGTH_MAX},
        )
        return None
    return number


# --- the resource ----------------------------------------------------------------------------


def _clean_classification(problems: Problems, values: Mapping[str, Any]) -> tuple[str, str, str, str]:
    category = _choice(
        problems,
        "category",
        values.get("category"),
        ResourceCategory,
        "category_invalid",
        _("The category (类) is 1 basic, 2 thematic or 3 departmental."),
    )
    item_code = _text(values.get("item_code"))
    if not _ITEM_CODE.match(item_code):
        problems.add("item_code", "item_code_invalid", _("The item (项) is two digits, e.g. 01."))
    heading = _text(values.get("heading_code"))
    if not _HEADING_CODE.match(heading):
        problems.add("heading_code", "heading_code_invalid", _("The heading (目) is three digits, e.g. 001."))
    subheading = _text(values.get("subheading_code"))
    if not _SUBHEADING_CODE.match(subheading):
        problems.add(
            "subheading_code",
            "subheading_code_invalid",
            _("The sub-heading (细目) is up to three digits, or empty."),
        )
    return category, item_code, heading, subheading


def _clean_sharing(problems: Problems, values: Mapping[str, Any]) -> dict[str, Any]:
    sharing_type = _choice(
        problems,
        "sharing_type",
        values.get("sharing_type"),
        SharingType,
        "sharing_type_invalid",
        _("Choose shared unconditionally, shared on conditions or not shared."),
    )
    conditions = _bounded(
        problems, "sharing_conditions", values.get("sharing_conditions"), TEXT_MAX, "text_too_long"
    )
    basis = _bounded(problems, "not_shared_basis", values.get("not_shared_basis"), TEXT_MAX, "text_too_long")
    if sharing_type == SharingType.CONDITIONAL and not conditions:
        problems.add(
            "sharing_conditions",
            "sharing_conditions_required",
            _("A resource shared on conditions must state its conditions."),
        )
    if sharing_type == SharingType.NOT_SHARED and not basis:
        problems.add(
            "not_shared_basis",
            "not_shared_basis_required",
            _("A resource that is not shared must cite the law or rule it is withheld under."),
        )
    # Texts that do not apply to the chosen type are dropped rather than kept contradicting it.
    if sharing_type != SharingType.CONDITIONAL:
        conditions = ""
    if sharing_type != SharingType.NOT_SHARED:
        basis = ""

    modes: list[str] = []
    invalid = False
    for entry in _as_list(values.get("sharing_modes")):
        mode = _text(entry)
        if mode not in SharingMode.values:
            invalid = True
            problems.add(
                "sharing_modes", "sharing_mode_invalid", _("Choose interface, file download or page query.")
            )
            break
        if mode not in modes:
            modes.append(mode)
    if sharing_type in (SharingType.UNCONDITIONAL, SharingType.CONDITIONAL) and not modes and not invalid:
        problems.add(
            "sharing_modes",
            "sharing_modes_required",
            _("Say how the resource is shared (at least one mode)."),
        )
    if sharing_type == SharingType.NOT_SHARED and modes:
        problems.add(
            "sharing_modes",
            "sharing_modes_not_shared",
            _("A resource that is not shared has no sharing mode."),
        )

    open_type = _choice(
        problems,
        "open_type",
        values.get("open_type"),
        OpenType,
        "open_type_invalid",
        _("Choose open unconditionally, open on conditions or not open."),
    )
    if sharing_type == SharingType.NOT_SHARED and open_type and open_type != OpenType.NOT_OPEN:
        problems.add(
            "open_type",
            "not_shared_not_open",
            _("A resource that is not shared between departments cannot be open to the public."),
        )
    open_conditions = _bounded(
        problems, "open_conditions", values.get("open_conditions"), TEXT_MAX, "text_too_long"
    )
    if open_type == OpenType.CONDITIONAL and not open_conditions:
        problems.add(
            "open_conditions",
            "open_conditions_required",
            _("A resource open on conditions must state its opening conditions."),
        )
    if open_type != OpenType.CONDITIONAL:
        open_conditions = ""
    return {
        "sharing_type": sharing_type,
        "sharing_conditions": conditions,
        "not_shared_basis": basis,
        "sharing_modes": tuple(modes),
        "open_type": open_type,
        "open_conditions": open_conditions,
    }


def _clean_related(problems: Problems, value: Any) -> tuple[str, ...]:
    codes: list[str] = []
    for entry in _as_list(value):
        code = _text(entry)
        if code and code not in codes:
            codes.append(code)
    if len(codes) > RELATED_MAX:
        problems.add(
            "related_codes",
            "related_too_many",
            _("At most %(n)s related resources, please.") % {"n": RELATED_MAX},
        )
    return tuple(sorted(codes))


def clean_items(problems: Problems, value: Any) -> tuple[ItemSpec, ...]:
    entries = _as_list(value)
    if not entries:
        problems.add("items", "items_required", _("Describe at least one data item."))
        return ()
    if len(entries) > ITEMS_MAX:
        problems.add("items", "items_too_many", _("At most %(n)s data items, please.") % {"n": ITEMS_MAX})
        return ()
    items: list[ItemSpec] = []
    seen: dict[str, int] = {}
    keys = 0
    for index, raw in enumerate(entries):
        entry: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        prefix = f"items.{index}."
        key = _text(entry.get("key"))
        if not _ITEM_KEY.match(key):
            problems.add(
                prefix + "key",
                "item_key_invalid",
                _("The key is lower-case letters, digits and _, starting with a letter (e.g. resident_id)."),
            )
        elif key in seen:
            problems.add(
                prefix + "key",
                "item_key_duplicate",
                _("The key is already used by data item %(n)s.") % {"n": seen[key] + 1},
            )
        else:
            seen[key] = index
        name = _text(entry.get("name"))
        if not name:
            problems.add(prefix + "name", "item_name_required", _("Enter the data item's name."))
        elif len(name) > ITEM_NAME_MAX:
            problems.add(
                prefix + "name",
                "item_name_too_long",
                _("At most %(n)s characters, please.") % {"n": ITEM_NAME_MAX},
            )
        data_type = _choice(
            problems,
            prefix + "data_type",
            entry.get("data_type"),
            DataType,
            "item_type_invalid",
            _("Choose one of the listed data types."),
        )
        length = _length(problems, prefix + "length", entry.get("length"))
        if (
            data_type in _LENGTH_REQUIRED
            and length is None
            and not any(name_ == prefix + "length" for name_, _c, _m in problems.entries)
        ):
            problems.add(
                prefix + "length",
                "item_length_required",
                _("Text and code items need a length (the most characters a value has)."),
            )
        if data_type in _NO_LENGTH:
            length = None
        is_key = _flag(entry.get("is_key"))
        keys += is_key
        description = _bounded(
            problems, prefix + "description", entry.get("description"), ITEM_DESCRIPTION_MAX, "text_too_long"
        )
        items.append(
            ItemSpec(
                key=key,
                name=name,
                data_type=data_type,
                length=length,
                sensitive=_flag(entry.get("sensitive")),
                is_key=is_key,
                description=description,
            )
        )
    if keys == 0:
        problems.add(
            "items", "key_item_required", _("Mark one data item as the look-up key (e.g. the resident ID).")
        )
    elif keys > 1:
        problems.add("items", "key_item_multiple", _("Only one data item can be the look-up key."))
    return tuple(items)


def clean_resource(values: Mapping[str, Any], *, problems: Problems | None = None) -> ResourceSpec:
    """The values as a ``ResourceSpec``; raises ``ValidationFailed`` with every problem found.

    ``problems`` lets a caller add its own findings first and have them raised together.
    """
    problems = problems if problems is not None else Problems()
    category, item_code, heading, subheading = _clean_classification(problems, values)
    name = _text(values.get("name"))
    if not name:
        problems.add("name", "name_required", _("Enter the resource's name."))
    elif len(name) > NAME_MAX:
        problems.add("name", "name_too_long", _("At most %(n)s characters, please.") % {"n": NAME_MAX})
    summary = _text(values.get("summary"))
    if not summary:
        problems.add(
            "summary", "summary_required", _("Summarise what the resource holds and what it is for.")
        )
    elif len(summary) > SUMMARY_MAX:
        problems.add(
            "summary", "summary_too_long", _("At most %(n)s characters, please.") % {"n": SUMMARY_MAX}
        )
    resource_format = _choice(
        problems,
        "format",
        values.get("format"),
        ResourceFormat,
        "format_invalid",
        _("Choose one of the listed formats."),
    )
    sharing = _clean_sharing(problems, values)
    update_cycle = _choice(
        problems,
        "update_cycle",
        values.get("update_cycle"),
        UpdateCycle,
        "update_cycle_invalid",
        _("Choose how often the resource is updated."),
    )
    related = _clean_related(problems, values.get("related_codes"))
    items = clean_items(problems, values.get("items"))
    problems.raise_if_any()
    return ResourceSpec(
        category=category,
        item_code=item_code,
        heading_code=heading,
        subheading_code=subheading,
        name=name,
        summary=summary,
        format=resource_format,
        update_cycle=update_cycle,
        related_codes=related,
        items=items,
        **sharing,
    )


def check_published_items(problems: Problems, published: Sequence[Any], proposed: Sequence[ItemSpec]) -> None:
    """A published resource's items stay: not removed, not retyped, the look-up key unchanged.

    ``published`` holds the live items (anything with ``key``, ``data_type`` and ``is_key``).
    """
    index = {item.key: position for position, item in enumerate(proposed)}
    for item in published:
        position = index.get(item.key)
        if position is None:
            problems.add(
                "items",
                "item_remove_forbidden",
                _("Data item %(key)s is published and may be in use by the exchange; it cannot be removed.")
                % {"key": item.key},
            )
            continue
        new = proposed[position]
        if new.data_type != item.data_type:
            problems.add(
                f"items.{position}.data_type",
                "item_retype_forbidden",
                _("Data item %(key)s is published; its data type cannot change.") % {"key": item.key},
            )
        if new.is_key != item.is_key:
            problems.add(
                f"items.{position}.is_key",
                "key_item_fixed",
                _("The look-up key of a published resource cannot change."),
            )


def normalised(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as ``clean_resource`` stores them, for "does this change anything?" comparisons.

    Values stored under older rules that no longer pass are compared as they are.
    """
    try:
        return clean_resource(values).as_values()
    except ValidationFailed:
        return dict(values)


def values_of(resource: Any) -> dict[str, Any]:
    """The current values of a resource row (with its items), in the shape ``clean_resource`` reads."""
    values = {name: getattr(resource, name) for name in METADATA_FIELDS if name != "related_codes"}
    values["sharing_modes"] = list(resource.sharing_modes or [])
    values["related_codes"] = sorted(r.code for r in resource.related.all())
    values["items"] = [
        {
            "key": item.key,
            "name": item.name,
            "data_type": item.data_type,
            "length": item.length,
            "sensitive": item.sensitive,
            "is_key": item.is_key,
            "description": item.description,
        }
        for item in resource.items.all()
    ]
    return values
