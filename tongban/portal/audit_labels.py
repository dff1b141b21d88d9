"""How audit rows read in the interface.

Rows are stored language-neutral (an action code such as ``auth.login`` and an actor label such as
``citizen 张* 341502********2150``) because they are hash-chained and must never be rewritten.
These labels translate them for display; an action with no label here shows its code.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, Promise] = {
    "account.real_name_check": _("Real-name check against the population base failed"),
    "account.real_name_raised": _("Real-name level raised"),
    "basedata.divisions_load": _("Administrative divisions loaded"),
    "basedata.import_create": _("Base-database import queued"),
    "basedata.import_finish": _("Base-database import finished"),
    "basedata.import_fail": _("Base-database import failed"),
    "basedata.import_abandon": _("Base-database import abandoned"),
    "basedata.report_download": _("Import error report downloaded"),
    "basedata.record_view": _("Base-database record viewed"),
    "basedata.record_correct": _("Base-database record corrected"),
    "basedata.reconcile_create": _("Reconciliation queued"),
    "basedata.reconcile_finish": _("Reconciliation finished"),
    "basedata.reconcile_fail": _("Reconciliation failed"),
    "basedata.task_view": _("Data-quality task viewed"),
    "basedata.task_resolve": _("Data-quality task resolved"),
    "exchange.calls_viewed": _("Exchange call record viewed"),
    "exchange.grant_requested": _("Data-sharing grant applied for"),
    "exchange.grant_approved": _("Data-sharing grant approved"),
    "exchange.grant_refused": _("Data-sharing grant refused"),
    "exchange.grant_suspended": _("Data-sharing grant suspended"),
    "exchange.grant_resumed": _("Data-sharing grant resumed"),
    "exchange.grant_revoked": _("Data-sharing grant revoked"),
    "exchange.grant_expired": _("Data-sharing grant expired"),
    "exchange.source_set": _("Resource source set"),
    "exchange.stats_recounted": _("Exchange statistics recounted"),
    "exchange.upstream_registered": _("Upstream department system registered"),
    "resource.create": _("Data resource drafted"),
    "resource.update": _("Data resource draft changed"),
    "resource.submit": _("Data resource submitted for review"),
    "resource.withdraw": _("Data resource withdrawn from review"),
    "resource.discard": _("Data resource draft discarded"),
    "resource.publish": _("Data resource published"),
    "resource.return": _("Data resource returned to its provider"),
    "resource.retire": _("Data resource retired"),
    "resource.correction_save": _("Correction of a data resource saved"),
    "resource.correction_submit": _("Correction of a data resource submitted"),
    "resource.correction_withdraw": _("Correction of a data resource withdrawn"),
    "resource.correction_apply": _("Correction of a data resource applied"),
    "resource.correction_return": _("Correction of a data resource returned"),
    "resource.correction_discard": _("Correction of a data resource discarded"),
    "resource.demand_create": _("Data demand recorded"),
    "resource.demand_answer": _("Data demand answered"),
    "resource.demand_withdraw": _("Data demand withdrawn"),
    "resource.responsibility_set": _("Responsibility for a data resource set"),
    "resource.responsibility_remove": _("Responsibility for a data resource removed"),
    "resource.import": _("Data resources imported from Excel"),
    "resource.export": _("Data resources exported to Excel"),
    "account.register": _("Account registered"),
    "account.password_change": _("Password changed"),
    "account.profile_update": _("Account details changed"),
    "appointment.hall_create": _("Service hall opened for appointments"),
    "appointment.window_create": _("Window added to a service hall"),
    "appointment.slots_generate": _("Appointment slots created"),
    "appointment.book": _("Appointment booked"),
    "appointment.cancel": _("Appointment cancelled"),
    "appointment.attended": _("Appointment attended"),
    "appointment.no_show": _("Missed appointment recorded"),
    "appointment.remind": _("Appointment reminder sent"),
    "auth.login": _("Login"),
    "auth.logout": _("Logout"),
    "auth.lockout": _("Account locked after wrong passwords"),
    "auth.totp_enrol": _("Second factor set up"),
    "auth.totp_verify": _("Second factor checked"),
    "auth.totp_reset": _("Second factor reset"),
    "audit.view": _("Audit trail viewed"),
    "bundle.created": _("Themed bundle defined"),
    "bundle.published": _("Themed bundle published"),
    "bundle.withdrawn": _("Themed bundle taken off the portal"),
    "bundle.applied": _("Themed bundle applied for (one case per item)"),
    "calendar.override_set": _("Working-day override saved"),
    "catalog.item_create": _("Service item created"),
    "catalog.item_retire": _("Service item retired"),
    "catalog.version_draft": _("Service item draft started"),
    "catalog.version_update": _("Service item draft edited"),
    "catalog.version_publish": _("Service item version published"),
    "catalog.material_add": _("Material added to a service item"),
    "catalog.material_update": _("Material of a service item changed"),
    "catalog.material_remove": _("Material removed from a service item"),
    "catalog.form_set": _("Application form of a service item set"),
    "catalog.process_set": _("Process of a service item set"),
    "catalog.export": _("Service catalogue exported to Excel"),
    "catalog.import": _("Service catalogue imported from Excel"),
    "case.draft_saved": _("Application draft saved"),
    "case.draft_discarded": _("Application draft discarded"),
    "case.material_uploaded": _("Material uploaded to a case"),
    "case.material_removed": _("Material removed from a case"),
    "case.submitted": _("Application submitted"),
    "case.correction_requested": _("One-time notice of corrections issued"),
    "case.resubmitted": _("Corrected application resubmitted"),
    "case.accepted": _("Application accepted"),
    "case.not_accepted": _("Application not accepted"),
    "case.task_decided": _("Review opinion given"),
    "case.approved": _("Application granted"),
    "case.refused": _("Application not granted"),
    "case.delivered": _("Result delivered"),
    "case.withdrawn": _("Application withdrawn"),
    "case.suspended": _("Case clock suspended for a special procedure"),
    "case.resumed": _("Case clock resumed"),
    "case.viewed": _("Case opened by staff"),
    "case.window_identify": _("Applicant identified at the window"),
    "case.contact_revealed": _("Applicant's full ID number shown to staff"),
    "case.material_downloaded": _("Case material downloaded by staff"),
    "calendar.override_delete": _("Working-day override removed"),
    "department.create": _("Department created"),
    "enterprise.agent_add": _("Agent authorised"),
    "enterprise.agent_revoke": _("Agent authorisation revoked"),
    "oidc.client_register": _("Department system registered"),
    "oidc.client_secret_rotate": _("Department system secret replaced"),
    "oidc.client_disable": _("Department system disabled"),
    "staff.create": _("Staff account created"),
    "staff.roles_change": _("Staff roles changed"),
    "staff.activate": _("Staff account reactivated"),
    "staff.deactivate": _("Staff account deactivated"),
}

ACTOR_KIND_LABELS: dict[str, Promise] = {
    "citizen": _("Citizen"),
    "enterprise": _("Enterprise"),
    "staff": _("Staff"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def actor_label(stored: str) -> str:
    """``citizen 张* 3415…`` -> ``个人用户 张* 3415…`` (the kind word translated, the rest as stored)."""
    kind, _sep, rest = stored.partition(" ")
    label = ACTOR_KIND_LABELS.get(kind)
    return f"{label} {rest}" if label is not None else stored
