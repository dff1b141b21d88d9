"""Background jobs of the base databases, queued by the services through ``tongban.core.jobs``."""

from __future__ import annotations

from tongban.basedata import services


def import_run(job_id: int) -> None:
    services.import_job_run(job_id=job_id)


def reconciliation_run(run_id: int) -> None:
    services.reconciliation_run(run_id=run_id)
