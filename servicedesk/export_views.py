"""The export URLs of every list page (``servicedesk.exports``) and the export jobs' pages (owner only)."""

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from . import export_jobs, exports
from .models import ExportJob
from .progress import progress_context, progress_partial


@require_GET
def export(request, page: str, fmt: str):
    """``/exports/<page>.<fmt>?<the page's query string>``: the page's rows as a file (its own permission)."""
    return exports.export_response(request, page, fmt)


def _job_context(job):
    done, total = export_jobs.export_job_progress(job)
    return {
        "job": job,
        "title": exports.registered().get(job.page).title if job.page in exports.registered() else job.page,
        **progress_context(
            done=done,
            total=total,
            running=job.is_running,
            status_label=job.get_status_display(),
            url=reverse("export_job_progress", args=[job.pk]),
            element_id="export-progress",
        ),
    }


@require_GET
def export_job(request, pk: int):
    job = export_jobs.export_job_get_for_user(user=request.user, pk=pk)
    return render(request, "servicedesk/export_job.html", _job_context(job))


@require_GET
def export_job_progress(request, pk: int):
    """Polled by htmx while the worker writes the file; once done the page reloads with the download link."""
    job = export_jobs.export_job_get_for_user(user=request.user, pk=pk)
    return progress_partial(request, _job_context(job))


@require_GET
def export_job_download(request, pk: int):
    job = export_jobs.export_job_get_for_user(user=request.user, pk=pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.file.name.rsplit("/", 1)[-1],
        content_type=exports.XLSX_CONTENT_TYPE,
    )
