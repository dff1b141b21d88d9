"""One form and one set of materials for several items: merge, check and split (一表申请).

The items of a bundle each have their own application form and materials. Asking the same thing
twice is what bundles exist to avoid, so:

- form fields are merged by ``key``: the same key is the same question, asked once (its first
  definition in bundle order, required when any item requires it). Two items defining one key with
  different types, or choices with different options, cannot share an answer: ``merge_form``
  refuses the bundle (``bundle_form_conflict``) listing every such key;
- materials are merged by name and source: 居民身份证 uploaded once serves every item that asks for
  it, and is required when any item requires it;
- the answers are split back per item (``split_answers``) so each case gets exactly its own fields
  and is validated against its own version's form, as if applied for alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.catalog.choices import MaterialSource
from tongban.catalog.models import Material, ServiceItemVersion
from tongban.core.errors import ValidationFailed

CHOICE_TYPES = frozenset({"choice", "multichoice"})


@dataclass
class MergedField:
    """One question of the merged form and the items (their ids) that ask it."""

    definition: dict[str, Any]
    item_ids: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.definition["key"])


@dataclass
class MergedMaterial:
    """One material of the merged set and, per item, which of its materials it stands for."""

    key: str
    name: str
    source: str
    source_code: str
    required: bool
    acceptance_standard: str
    may_follow_later: bool
    # (item id, material id) for each item asking for it
    parts: list[tuple[int, int]] = field(default_factory=list)
    item_names: list[str] = field(default_factory=list)

    @property
    def uploadable(self) -> bool:
        return self.source == MaterialSource.APPLICANT

    @property
    def fetched(self) -> bool:
        return self.source in (MaterialSource.E_LICENCE, MaterialSource.SHARED_DATA)

    @property
    def input_name(self) -> str:
        return f"material_{self.key}"

    def get_source_display(self) -> str:
        return str(MaterialSource(self.source).label)


def material_key(material: Material) -> str:
    """A short stable key for a material name and source (the upload field's name on the page)."""
    return hashlib.sha256(f"{material.source}|{material.name}".encode()).hexdigest()[:12]


def _options(definition: Mapping[str, Any]) -> list[str]:
    return sorted(o["value"] for o in definition.get("options") or [])


def _clash(first: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    if first["type"] != other["type"]:
        return True
    return first["type"] in CHOICE_TYPES and _options(first) != _options(other)


def merge_form(versions: Sequence[ServiceItemVersion]) -> list[MergedField]:
    """The merged questions in bundle order, or ``ValidationFailed`` naming every conflicting key."""
    merged: dict[str, MergedField] = {}
    conflicts: dict[str, list[str]] = {}
    for version in versions:
        for definition in version.form_schema:
            key = definition["key"]
            entry = merged.get(key)
            if entry is None:
                merged[key] = MergedField(definition=dict(definition), item_ids=[version.item_id])
                continue
            if _clash(entry.definition, definition):
                conflicts.setdefault(key, [entry.definition["label"]]).append(version.name)
                continue
            entry.item_ids.append(version.item_id)
            if definition["required"]:
                entry.definition["required"] = True
    if conflicts:
        details: list[str | Promise] = [
            _("“%(label)s” (%(key)s) is defined differently by %(items)s")
            % {"label": labels[0], "key": key, "items": "、".join(labels[1:])}
            for key, labels in conflicts.items()
        ]
        message = _(
            "Items of this bundle ask the same question with different answer types or options, so one "
            "answer cannot serve them all: %(details)s."
        ) % {"details": "；".join(str(d) for d in details)}
        raise ValidationFailed(
            message,
            code="bundle_form_conflict",
            fields={"form_schema": details},
            extra={"keys": sorted(conflicts)},
        )
    return list(merged.values())


def merge_materials(versions: Sequence[ServiceItemVersion]) -> list[MergedMaterial]:
    """The materials of every item once each, by name and source, in bundle order."""
    merged: dict[str, MergedMaterial] = {}
    for version in versions:
        for material in version.materials.all():
            key = material_key(material)
            entry = merged.get(key)
            if entry is None:
                entry = merged[key] = MergedMaterial(
                    key=key,
                    name=material.name,
                    source=material.source,
                    source_code=material.source_code,
                    required=False,
                    acceptance_standard=material.acceptance_standard,
                    may_follow_later=True,
                )
            entry.parts.append((version.item_id, material.pk))
            if version.name not in entry.item_names:
                entry.item_names.append(version.name)
            entry.required = entry.required or material.required
            entry.may_follow_later = entry.may_follow_later and material.may_follow_later
            entry.acceptance_standard = entry.acceptance_standard or material.acceptance_standard
    return list(merged.values())


def split_answers(version: ServiceItemVersion, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to this item's own questions (those it does not ask stay out of its case)."""
    return {f["key"]: answers[f["key"]] for f in version.form_schema if f["key"] in answers}
