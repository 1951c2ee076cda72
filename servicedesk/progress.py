"""The progress bar of a long job run by the worker (a contract import, an export), polled by htmx.

A page includes ``servicedesk/_progress.html`` with ``progress_context(...)``; the polled view answers with
``progress_partial``, which asks htmx to reload the whole page once the job is no longer running (so the page
shows its result: the import's report, the export's download link).
"""

from django.shortcuts import render


def progress_context(*, done: int, total: int, running: bool, status_label: str, url: str, element_id: str) -> dict:
    percent = int(done * 100 / total) if total else (0 if running else 100)
    return {
        "progress": {
            "done": done,
            "total": total,
            "percent": min(percent, 100),
            "running": running,
            "status_label": status_label,
            "url": url,
            "id": element_id,
        }
    }


def progress_partial(request, context: dict, *, template: str = "servicedesk/_progress.html"):
    response = render(request, template, context)
    if not context["progress"]["running"] and request.htmx:
        response["HX-Refresh"] = "true"
    return response
