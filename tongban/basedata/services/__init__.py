"""Writes to the base databases: imports, reconciliation and its tasks, the division table."""

from tongban.basedata.services.divisions import DivisionLoad, divisions_load
from tongban.basedata.services.imports import (
    import_job_abandon,
    import_job_create,
    import_job_run,
    import_report_opened,
)
from tongban.basedata.services.reconciliation import (
    quality_task_resolve,
    reconciliation_create,
    reconciliation_run,
    run_report_opened,
)

__all__ = [
    "DivisionLoad",
    "divisions_load",
    "import_job_abandon",
    "import_job_create",
    "import_job_run",
    "import_report_opened",
    "quality_task_resolve",
    "reconciliation_create",
    "reconciliation_run",
    "run_report_opened",
]
