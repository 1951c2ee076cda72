"""Export jobs: an Excel file too large for a request, written by the worker (see ``servicedesk.exports``).

The job keeps who asked, for which page and query string, in which language; the worker runs the page's own
scoped rows function again as that user, so the file holds what the page showed them and nothing more.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile

from django.core.files import File
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation

from .models import ExportJob
from .workflow import apply_transition, lock_for_update

log = logging.getLogger(__name__)

# How long a written file is kept for its owner to download.
EXPORT_KEEP = dt.timedelta(days=2)


def export_job_get_for_user(*, user, pk: int) -> ExportJob:
    """Only the owner sees a job (another user's job, even head office's, is not found)."""
    if not user.is_authenticated:
        raise Http404
    job = ExportJob.objects.filter(pk=pk, owner=user).first()
    if job is None:
        raise Http404
    return job


def export_jobs_recent(*, user, limit: int = 10) -> list[ExportJob]:
    return list(ExportJob.objects.filter(owner=user).order_by("-created_at", "-id")[:limit])


@transaction.atomic
def export_job_start(*, user, page: str, fmt: str, params) -> ExportJob:
    """Record the job and hand it to the worker once the row is committed."""
    from . import exports

    spec = exports.spec_for(page)
    rows_total = exports.count(spec.rows(user=user, params=params))
    job = ExportJob.objects.create(
        owner=user,
        unit=user.unit,
        page=page,
        fmt=fmt,
        filters={key: values for key, values in params.lists()},
        language=translation.get_language() or "zh-hans",
        rows_total=rows_total,
    )

    def enqueue():
        from .tasks import run_export_job

        try:
            run_export_job.apply_async(args=[job.pk], retry=False)
        except Exception:  # the broker is down: the job waits, the page says so
            log.warning("broker unavailable; export job %s waits", job.pk, exc_info=True)

    transaction.on_commit(enqueue)
    return job


def _set_progress(job_id: int, done: int) -> None:
    ExportJob.objects.filter(pk=job_id).update(rows_done=done)


def export_job_run(*, job_id: int) -> ExportJob:
    """Write the job's file. Run by the worker; a job already finished is left as it is (a redelivery)."""
    from . import exports

    with transaction.atomic():
        job = lock_for_update(ExportJob.objects.select_related("owner"), pk=job_id)
        if job.status not in ExportJob.RUNNING_STATUSES:
            return job
        if job.status == ExportJob.Status.RUNNING:  # a worker stopped half-way: start again
            apply_transition(instance=job, to_status=ExportJob.Status.QUEUED, by=None, note="redelivered")
        apply_transition(instance=job, to_status=ExportJob.Status.RUNNING, by=None)
    try:
        spec = exports.spec_for(job.page)
        with translation.override(job.language), tempfile.TemporaryFile() as out:
            rows = spec.rows(user=job.owner, params=exports.params_of(job.filters))
            written = exports.write_xlsx(
                out,
                spec.columns_for(job.owner),
                rows,
                title=str(spec.title),
                progress=lambda done: _set_progress(job.pk, done),
            )
            out.seek(0)
            with transaction.atomic():
                job = lock_for_update(ExportJob.objects.all(), pk=job_id)
                job.file.save(spec.file_name(job.fmt), File(out), save=False)
                job.rows_done = job.rows_total = written
                job.finished_at = timezone.now()
                apply_transition(
                    instance=job,
                    to_status=ExportJob.Status.DONE,
                    by=None,
                    fields=("file", "rows_done", "rows_total", "finished_at"),
                )
    except Exception as exc:
        log.exception("export job %s failed", job_id)
        with transaction.atomic():
            job = lock_for_update(ExportJob.objects.all(), pk=job_id)
            if job.status == ExportJob.Status.RUNNING:
                job.message = str(exc)[:500]
                job.finished_at = timezone.now()
                apply_transition(
                    instance=job, to_status=ExportJob.Status.FAILED, by=None, fields=("message", "finished_at")
                )
    return job


def export_jobs_clean(*, now: dt.datetime | None = None) -> int:
    """Delete the files of jobs finished more than ``EXPORT_KEEP`` ago; each job once (idempotent)."""
    cutoff = (now or timezone.now()) - EXPORT_KEEP
    cleaned = 0
    due = ExportJob.objects.filter(
        status__in=(ExportJob.Status.DONE, ExportJob.Status.FAILED), finished_at__lt=cutoff
    ).values_list("pk", flat=True)
    for pk in list(due[:500]):
        with transaction.atomic():
            job = lock_for_update(ExportJob.objects.all(), pk=pk)
            if job.status not in (ExportJob.Status.DONE, ExportJob.Status.FAILED):
                continue  # another run got there first
            name = job.file.name
            job.file = ""
            apply_transition(instance=job, to_status=ExportJob.Status.EXPIRED, by=None, fields=("file",))
            if name:
                storage = job.file.storage
                transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))
            cleaned += 1
    return cleaned


def export_job_progress(job: ExportJob) -> tuple[int, int]:
    """(done, total) for the progress bar."""
    if job.status == ExportJob.Status.DONE:
        return job.rows_done, job.rows_done
    return job.rows_done, job.rows_total
