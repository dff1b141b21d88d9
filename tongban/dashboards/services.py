"""Writes of the dashboards: bringing the rollups up to date on demand (administrators)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongban.core import audit
from tongban.core.errors import PermissionDenied
from tongban.dashboards import rollups
from tongban.identity.choices import Role
from tongban.identity.models import User
from tongban.identity.selectors import has_role


@transaction.atomic
def rollups_refresh(*, by: User, full: bool = False) -> rollups.RefreshResult:
    """Refresh the rollups now (incrementally, or rebuilt in full); audited."""
    if not has_role(by, Role.ADMINISTRATOR):
        raise PermissionDenied(_("Only administrators may refresh the dashboards."), code="refresh_forbidden")
    result = rollups.refresh(full=full)
    audit.record(action="dashboards.refreshed", actor=by, data=result.as_dict())
    return result
