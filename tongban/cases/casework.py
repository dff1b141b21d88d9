"""Sensitive reads of the staff desk that the engine's selectors do not cover (ADR 11).

- ``window_identify``: the one-window clerk identifies the applicant standing at the counter by the
  ID number and the name on the card. Both must match one account; a mismatch and every attempt are
  audited, and the clerk learns no more than the person in front of them could tell.
- ``case_contact_reveal``: the full ID number and phone of a case's applicant, masked everywhere else.
- ``case_material_open``: a case's file, for a staff member who may open the case.

Each one is an audited read, so it lives next to the engine rather than in the pages.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tongban.cases import permissions, selectors
from tongban.cases.models import Case, CaseMaterial
from tongban.core import audit
from tongban.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongban.core.idnumbers import normalize_credit_code, normalize_resident_id
from tongban.core.masking import mask_name, mask_resident_id
from tongban.core.models import AuditOutcome
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import Department, User
from tongban.identity.selectors import has_role

# Spaces and the half-/full-width forms of brackets, which people type either way in names.
_NAME_TRANSLATION = str.maketrans({"（": "(", "）": ")", "\u3000": "", " ": "", "·": "•", "・": "•"})


def _normal_name(value: str) -> str:
    return (value or "").strip().translate(_NAME_TRANSLATION)


def window_identify(*, id_number: str, name: str, by: User) -> User:
    """The citizen or enterprise account whose ID number (resident ID or credit code) and name both match.

    Raises ``ValidationFailed`` ``identity_mismatch`` when the name differs from the account's, and
    ``NotFound`` ``applicant_no_account`` when no active account has the number: accounts are not
    opened at the window, the person registers first. Every attempt is audited with its outcome.
    """
    if not has_role(by, Role.WINDOW_CLERK):
        raise PermissionDenied(_("Only window clerks identify applicants."), code="not_window_clerk")
    number = normalize_resident_id(id_number).upper()
    given_name = _normal_name(name)
    if not number or not given_name:
        message = _("Enter the ID number and the name as on the ID card.")
        raise ValidationFailed(message, code="identity_required", fields={"id_number": [message]})
    account = (
        User.objects.filter(is_active=True, kind__in=[AccountKind.CITIZEN, AccountKind.ENTERPRISE])
        .filter(resident_id=number)
        .first()
    ) or (
        User.objects.filter(is_active=True, kind=AccountKind.ENTERPRISE)
        .filter(credit_code=normalize_credit_code(number))
        .first()
    )
    masked = {"id_number": mask_resident_id(number), "name": mask_name(given_name)}
    if account is None:
        audit.record(
            action="case.window_identify",
            actor=by,
            outcome=AuditOutcome.FAILURE,
            data=masked | {"reason": "none"},
        )
        raise NotFound(
            _("No account has this ID number; the applicant must register first."),
            code="applicant_no_account",
        )
    if _normal_name(account.name) != given_name:
        audit.record(
            action="case.window_identify",
            actor=by,
            subject=account,
            outcome=AuditOutcome.FAILURE,
            data=masked | {"reason": "name_mismatch"},
        )
        message = _("The ID number and the name do not match.")
        raise ValidationFailed(message, code="identity_mismatch", fields={"name": [message]})
    audit.record(action="case.window_identify", actor=by, subject=account, data=masked)
    return account


def _require_visible(case_id: int, by: User) -> None:
    if not selectors.cases_for_staff(by).filter(pk=case_id).exists():
        raise NotFound(_("No such case, or it is not yours to see."), code="case_not_found")


def case_contact_reveal(*, case_id: int, by: User) -> dict[str, str]:
    """The applicant's full ID number and phone, for a staff member who may open the case (audited)."""
    _require_visible(case_id, by)
    case = Case.objects.get(pk=case_id)
    audit.record(action="case.contact_revealed", actor=by, subject=case)
    return {"id_number": case.applicant_id_number, "phone": case.applicant_phone}


def case_material_open(*, case_id: int, case_material_id: int, by: User) -> CaseMaterial:
    """One stored file of the case, for a staff member who may open the case (audited)."""
    _require_visible(case_id, by)
    row = (
        CaseMaterial.objects.select_related("case")
        .filter(case_id=case_id, pk=case_material_id)
        .exclude(file="")
        .first()
    )
    if row is None:
        raise NotFound(_("No such file on this case."), code="case_material_not_found")
    audit.record(
        action="case.material_downloaded", actor=by, subject=row.case, data={"material": row.material_id}
    )
    return row


def identified_applicant(*, applicant_id: int) -> User | None:
    """The account ``window_identify`` found earlier in the clerk's session, if it is still active."""
    return User.objects.filter(
        pk=applicant_id, is_active=True, kind__in=[AccountKind.CITIZEN, AccountKind.ENTERPRISE]
    ).first()


def window_departments(user: User) -> QuerySet[Department]:
    """Departments whose items this clerk may take in at the window (their jurisdiction)."""
    return Department.objects.filter(permissions.intake_departments_q(user)).order_by("sort_order", "pk")
