"""Process definitions as data: the ordered stages a case goes through, with their departments.

Stored in ``ServiceItemVersion.process`` (ADR 10) in normal form::

    [{"name": "受理审查", "days": 2, "departments": ["jinan-psb"],
      "join": "all", "on_refusal": "refuse_case"}, ...]

A stage with one department is handled by it; a stage with several is split into parallel
branches (并联审批), one per department: the stage finishes when **all** branches have finished
(``join``), and a refusal in any branch ends the case with that branch's reasoned refusal
(``on_refusal``). Departments are named by their stable ``Department.code``. The case engine
(``cases``) reads these rules; this module only checks and normalises them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import ValidationFailed
from tongban.identity.models import Department

JOIN_ALL = "all"
ON_REFUSAL_REFUSE_CASE = "refuse_case"
MAX_STAGES = 20
MAX_BRANCHES = 20
_STAGE_ATTRIBUTES = frozenset({"name", "days", "department", "departments", "join", "on_refusal"})


def _error(message: str | Promise, code: str, index: int | None = None) -> ValidationFailed:
    extra = {"stage_index": index} if index is not None else None
    return ValidationFailed(message, code=code, fields={"process": [message]}, extra=extra)


def _department_code(value: Any) -> str | None:
    if isinstance(value, Department):
        return value.code
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def validate_process(stages: Any, *, promised_days: int | None = None) -> list[dict[str, Any]]:
    """The stages in normal form, or ``ValidationFailed`` with the first problem's code.

    Each stage names its ``department`` (a code or a ``Department``) or, for parallel branches, its
    ``departments``. With ``promised_days`` the stage limits must add up to at most that.
    """
    if stages is None or (isinstance(stages, list) and not stages):
        raise _error(_("A process has at least one stage."), "process_missing")
    if not isinstance(stages, list):
        raise _error(_("A process definition is a list of stages."), "process_not_list")
    if len(stages) > MAX_STAGES:
        raise _error(_("A process has at most 20 stages."), "too_many_stages")
    normal: list[dict[str, Any]] = []
    wanted: set[str] = set()
    for index, raw in enumerate(stages):
        if not isinstance(raw, Mapping):
            raise _error(_("Every stage of a process is an object."), "stage_not_object", index)
        unknown = sorted(set(raw) - _STAGE_ATTRIBUTES)
        if unknown:
            raise _error(
                _("Unknown stage attributes: %(names)s") % {"names": ", ".join(map(str, unknown))},
                "unknown_attribute",
                index,
            )
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
            raise _error(
                _("Every stage needs a name of at most 100 characters."), "stage_name_required", index
            )
        days = raw.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
            raise _error(
                _("A stage's time limit is a whole number of working days from 1 to 3650."),
                "stage_days_invalid",
                index,
            )
        if "department" in raw and "departments" in raw:
            raise _error(
                _("Name either one department or the departments of parallel branches."),
                "stage_department_ambiguous",
                index,
            )
        given = raw.get("departments") if "departments" in raw else [raw.get("department")]
        if not isinstance(given, list | tuple) or not given or len(given) > MAX_BRANCHES:
            raise _error(_("Every stage needs a handling department."), "stage_without_department", index)
        codes = [_department_code(entry) for entry in given]
        if None in codes:
            raise _error(_("Every stage needs a handling department."), "stage_without_department", index)
        if len(set(codes)) != len(codes):
            raise _error(
                _("The parallel branches of a stage must go to different departments."),
                "duplicate_branch_department",
                index,
            )
        for rule, allowed in (("join", JOIN_ALL), ("on_refusal", ON_REFUSAL_REFUSE_CASE)):
            if raw.get(rule, allowed) != allowed:
                raise _error(
                    _("The stage rule %(rule)s only allows %(value)s.") % {"rule": rule, "value": allowed},
                    "stage_rule_invalid",
                    index,
                )
        wanted.update(c for c in codes if c is not None)
        normal.append(
            {
                "name": name.strip(),
                "days": days,
                "departments": codes,
                "join": JOIN_ALL,
                "on_refusal": ON_REFUSAL_REFUSE_CASE,
            }
        )
    found = set(Department.objects.filter(code__in=wanted, is_active=True).values_list("code", flat=True))
    missing = sorted(wanted - found)
    if missing:
        raise _error(
            _("No active department has the code %(codes)s.") % {"codes": ", ".join(missing)},
            "unknown_department",
        )
    total = sum(stage["days"] for stage in normal)
    if promised_days is not None and total > promised_days:
        raise _error(
            _("The stages take %(total)s working days, more than the promised %(promised)s.")
            % {"total": total, "promised": promised_days},
            "process_exceeds_promised",
        )
    return normal


def process_departments(process: list[dict[str, Any]]) -> list[str]:
    """Every department code the process involves, in order of first appearance."""
    codes: list[str] = []
    for stage in process:
        codes.extend(code for code in stage["departments"] if code not in codes)
    return codes
