"""Loading the GB/T 2260 division table into the base (``manage.py basedata_load_divisions``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tongban.basedata import divisions, permissions
from tongban.basedata.models import Division
from tongban.core import audit
from tongban.identity.models import User


@dataclass(frozen=True)
class DivisionLoad:
    created: int
    updated: int
    unchanged: int

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


@transaction.atomic
def divisions_load(*, by: User | None = None) -> DivisionLoad:
    """Write today's divisions (python-stdnum's GB/T 2260 table and Lu'an's townships) into the base.

    Idempotent: a division is created when missing, updated when its name, level or parent changed,
    left alone otherwise. Divisions that are no longer current stay (records may still name them).
    """
    if by is not None:
        permissions.ensure_data_staff(by)
    rows = divisions.current_divisions()
    existing = {d.code: (d.name, d.level, d.parent_id) for d in Division.objects.all()}
    fresh = [r for r in rows if r.code not in existing]
    changed = [r for r in rows if r.code in existing and existing[r.code] != (r.name, r.level, r.parent_code)]
    # Parents come first in ``rows``, so one bulk insert in that order satisfies the foreign key.
    Division.objects.bulk_create(
        [Division(code=r.code, name=r.name, level=r.level, parent_id=r.parent_code) for r in fresh],
        batch_size=1000,
    )
    if changed:
        Division.objects.bulk_update(
            [Division(code=r.code, name=r.name, level=r.level, parent_id=r.parent_code) for r in changed],
            ["name", "level", "parent"],
            batch_size=500,
        )
    result = DivisionLoad(
        created=len(fresh), updated=len(changed), unchanged=len(rows) - len(fresh) - len(changed)
    )
    if result.changed:
        audit.record(
            action="basedata.divisions_load",
            actor=by,
            summary=f"{result.created} created, {result.updated} updated",
            data={"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
        )
    return result
