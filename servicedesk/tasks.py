from celery import shared_task

from .notifications import notifications_deliver_pending


@shared_task(acks_late=True)
def deliver_pending_notifications() -> int:
    return notifications_deliver_pending()


@shared_task(acks_late=True)
def run_export_job(job_id: int) -> str:
    from .export_jobs import export_job_run

    return export_job_run(job_id=job_id).status


@shared_task(acks_late=True)
def clean_export_jobs() -> int:
    """Beat, hourly: delete the files of exports kept long enough (idempotent)."""
    from .export_jobs import export_jobs_clean

    return export_jobs_clean()
