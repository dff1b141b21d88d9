"""Pages of the base databases under /staff/basedata/, for data officers and administrators.

Every id-taking page reads its object through a scoped selector: another department's job, run or
task is a 404. Uploads are checked and stored by the services, which queue the background job; the
job pages poll ``…/progress.json`` (static/basedata/job_progress.js) while the job runs.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.basedata import permissions, reports, selectors, services
from tongban.basedata.choices import Dataset, FileFormat, JobStatus, QualityTaskStatus
from tongban.basedata.datasets import SPECS, spec_for
from tongban.basedata.files import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, template_csv, template_xlsx
from tongban.basedata.forms import (
    ImportForm,
    JobFilterForm,
    LookupForm,
    ReconciliationForm,
    ResolveForm,
    TaskFilterForm,
    field_label,
)
from tongban.basedata.models import DataQualityTask, ImportJob, ReconciliationRun
from tongban.core.calendar import local_date
from tongban.core.errors import DomainError, NotFound
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.selectors import portal_user

PAGE_SIZE = 50
DATA_STAFF = (Role.DATA_OFFICER, Role.ADMINISTRATOR)


def _or_404(fetch: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fetch(*args, **kwargs)
    except NotFound as exc:
        raise Http404(str(exc.message)) from None


def _no_store(response: HttpResponseBase) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    # Streamed files too; the staff guard's type speaks of plain responses only.
    return cast(HttpResponse, response)


@staff_required(*DATA_STAFF)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    context = {
        "counts": selectors.dataset_counts(),
        "jobs": selectors.import_jobs_for(user)[:8],
        "runs": selectors.reconciliation_runs_for(user)[:5],
        "open_tasks": selectors.open_task_count(user),
        "datasets": Dataset.choices,
    }
    return render(request, "basedata/overview.html", context)


# --- imports ---------------------------------------------------------------------------------


@staff_required(*DATA_STAFF)
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = JobFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    jobs = selectors.import_jobs_for(
        user, dataset=filters.get("dataset") or "", status=filters.get("status") or ""
    )
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "basedata/import_list.html", {"form": form, "page": page})


@staff_required(*DATA_STAFF)
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    initial = (
        {"dataset": request.GET.get("dataset")} if request.GET.get("dataset") in Dataset.values else None
    )
    form = ImportForm(request.POST or None, request.FILES or None, user=user, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = services.import_job_create(
                    dataset=data["dataset"],
                    upload=data["file"],
                    department=data["department"],
                    by=user,
                    original_name=data["file"].name,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The file is queued for import; this page follows its progress."))
                return redirect("basedata:import_detail", pk=job.pk)
        else:
            status = 400
    templates = [(d, label) for d, label in Dataset.choices]
    return render(request, "basedata/import_new.html", {"form": form, "templates": templates}, status=status)


@staff_required(*DATA_STAFF)
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    job: ImportJob = _or_404(selectors.import_job_for, user, job_id=pk)
    preview: list[list[str]] = []
    if job.error_report:
        with job.error_report.open("rb") as handle:
            preview = reports.read_preview(handle)
    spec = spec_for(job.dataset)
    columns = [spec.column(name).header for name in job.columns if any(c.field == name for c in spec.columns)]
    context = {
        "job": job,
        "progress": selectors.job_progress(job),
        "preview": preview,
        "columns": columns,
        "earlier": selectors.same_file_jobs(job).first(),
        "stalled": selectors.is_stalled(job),
        "active": job.status in JobStatus.active(),
    }
    return render(request, "basedata/import_detail.html", context)


@staff_required(*DATA_STAFF)
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = _or_404(selectors.import_job_for, portal_user(request), job_id=pk)
    return _no_store(JsonResponse(selectors.job_progress(job)))


@staff_required(*DATA_STAFF)
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    job: ImportJob = _or_404(selectors.import_job_for, user, job_id=pk)
    if not job.error_report:
        raise Http404(_("This job has no error report."))
    services.import_report_opened(job=job, by=user)
    response = FileResponse(
        job.error_report.open("rb"), as_attachment=True, filename=f"import-{job.pk}-errors.csv"
    )
    response["Content-Type"] = CSV_CONTENT_TYPE
    return _no_store(response)


@staff_required(*DATA_STAFF)
@require_POST
def import_abandon(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    job: ImportJob = _or_404(selectors.import_job_for, user, job_id=pk)
    try:
        services.import_job_abandon(job=job, by=user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("basedata:import_detail", pk=job.pk)
    messages.success(request, _("The job is marked as failed; import the file again when ready."))
    return redirect("basedata:import_detail", pk=job.pk)


@staff_required(*DATA_STAFF)
@require_GET
def template_download(request: HttpRequest, dataset: str, fmt: str) -> HttpResponse:
    if dataset not in SPECS or fmt not in FileFormat.values:
        raise Http404(_("No such template."))
    spec = SPECS[dataset]
    name = f"template-{dataset}.{fmt}"
    if fmt == FileFormat.XLSX:
        content, content_type = template_xlsx(spec, title=str(Dataset(dataset).label)), XLSX_CONTENT_TYPE
    else:
        content, content_type = template_csv(spec), CSV_CONTENT_TYPE
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- look-up ---------------------------------------------------------------------------------


@staff_required(*DATA_STAFF)
@require_GET
def lookup(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = LookupForm(request.GET or None)
    record = None
    status = 200
    if request.GET and form.is_valid():
        try:
            record = selectors.record_lookup(
                user, dataset=form.cleaned_data["dataset"], key=form.cleaned_data["key"]
            )
        except DomainError as exc:
            form.add_error("key", str(exc.message))
            status = exc.status
    elif request.GET:
        status = 400
    return render(request, "basedata/lookup.html", {"form": form, "record": record}, status=status)


# --- reconciliation --------------------------------------------------------------------------


@staff_required(*DATA_STAFF)
@require_GET
def reconciliation_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.reconciliation_runs_for(portal_user(request)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "basedata/reconciliation_list.html", {"page": page})


@staff_required(*DATA_STAFF)
@require_http_methods(["GET", "POST"])
def reconciliation_new(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = ReconciliationForm(request.POST or None, request.FILES or None, user=user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = services.reconciliation_create(
                    dataset=data["dataset"],
                    fields=data["fields"],
                    upload=data["file"],
                    department=data["department"],
                    by=user,
                    original_name=data["file"].name,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The comparison is queued; this page follows its progress."))
                return redirect("basedata:reconciliation_detail", pk=run.pk)
        else:
            status = 400
    return render(request, "basedata/reconciliation_new.html", {"form": form}, status=status)


@staff_required(*DATA_STAFF)
@require_GET
def reconciliation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    run: ReconciliationRun = _or_404(selectors.reconciliation_run_for, user, run_id=pk)
    own = permissions.acts_for(user, run.source_department)
    preview: list[list[str]] = []
    if run.error_report and own:
        with run.error_report.open("rb") as handle:
            preview = reports.read_preview(handle)
    tasks = Paginator(selectors.tasks_of_run(user, run), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "run": run,
        "fields": [field_label(run.dataset, name) for name in run.fields],
        "progress": selectors.job_progress(run),
        "preview": preview,
        "tasks": tasks,
        "stalled": selectors.is_stalled(run),
        "active": run.status in JobStatus.active(),
        "own": own,
    }
    return render(request, "basedata/reconciliation_detail.html", context)


@staff_required(*DATA_STAFF)
@require_GET
def reconciliation_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = _or_404(selectors.reconciliation_run_for, portal_user(request), run_id=pk)
    return _no_store(JsonResponse(selectors.job_progress(run)))


@staff_required(*DATA_STAFF)
@require_GET
def reconciliation_errors(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    run: ReconciliationRun = _or_404(selectors.run_report_for, user, run_id=pk)
    if not run.error_report:
        raise Http404(_("This run has no error report."))
    services.run_report_opened(run=run, by=user)
    response = FileResponse(
        run.error_report.open("rb"), as_attachment=True, filename=f"reconciliation-{run.pk}-errors.csv"
    )
    response["Content-Type"] = CSV_CONTENT_TYPE
    return _no_store(response)


# --- data-quality tasks ----------------------------------------------------------------------


@staff_required(*DATA_STAFF)
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    view = "raised" if request.GET.get("view") == "raised" else "assigned"
    data = request.GET.copy()
    data.setdefault("status", QualityTaskStatus.OPEN)  # the open tasks unless the officer asks otherwise
    form = TaskFilterForm(data)
    status = form.cleaned_data["status"] if form.is_valid() else QualityTaskStatus.OPEN
    tasks = selectors.quality_tasks_for(user, view=view, status=status)
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "view": view, "status": status, "today": _today()}
    return render(request, "basedata/task_list.html", context)


def _today() -> Any:
    return local_date(timezone.now())


def _task_page(
    request: HttpRequest, task: DataQualityTask, form: ResolveForm | None = None, status: int = 200
) -> HttpResponse:
    user = portal_user(request)
    context = {
        "task": task,
        "form": form or ResolveForm(),
        "may_resolve": task.status == QualityTaskStatus.OPEN
        and permissions.acts_for(user, task.assigned_department),
        "today": _today(),
    }
    return render(request, "basedata/task_detail.html", context, status=status)


@staff_required(*DATA_STAFF)
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = _or_404(selectors.quality_task_for, portal_user(request), task_id=pk)
    return _task_page(request, task)


@staff_required(*DATA_STAFF)
@require_POST
def task_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    task: DataQualityTask = _or_404(selectors.quality_task_for, user, task_id=pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _task_page(request, task, form, status=400)
    try:
        services.quality_task_resolve(
            task=task, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"], by=user
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _task_page(request, task, form, status=exc.status)
    messages.success(request, _("The task is closed."))
    return redirect("basedata:task_detail", pk=task.pk)


# --- reference tables ------------------------------------------------------------------------


@staff_required(*DATA_STAFF)
@require_GET
def divisions(request: HttpRequest) -> HttpResponse:
    code = (request.GET.get("code") or "").strip() or None
    division, children = _or_404(selectors.division_children, code)
    path = selectors.division_path(division) if division else []
    return render(
        request, "basedata/divisions.html", {"division": division, "children": children, "path": path}
    )


@staff_required(*DATA_STAFF)
@require_GET
def indicators(request: HttpRequest) -> HttpResponse:
    return render(request, "basedata/indicators.html", {"tables": selectors.indicator_tables()})
