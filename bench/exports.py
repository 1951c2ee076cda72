"""Benchmark of the shared exports (servicedesk/exports.py) on the seeded 1,000,000-call database.

1. CSV of every call (1,000,000 rows, head office's scope) through ``exports.csv_response`` over the calls'
   export columns (``repairs.exports.call_columns`` / ``call_rows``), the response's streamed chunks read and
   counted as a client would: rows per second, the process's RSS sampled during the stream and its peak;
2. the board's CSV over HTTP in-process (Django's test client, head office: every open call, 100,000 rows)
   through the ``export`` URL, the same figures;
3. an Excel file of one unit's open calls written by the worker's function (openpyxl write-only mode).

Seed first (minutes), into a database of its own, then run::

    createdb sd_bench_exports
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_bench_exports .venv/bin/python manage.py migrate
    DATABASE_URL=... .venv/bin/python bench/seed_calls.py --calls 1000000
    DATABASE_URL=... .venv/bin/python bench/exports.py

The figures go into bench/RESULTS.md by hand with the load average it prints.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

RSS_LIMIT_MB = 200


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def consume(chunks, label: str) -> dict:
    """Read a streamed body the way a client does, counting lines and watching this process's memory."""
    started = time.monotonic()
    first_byte = None
    lines = 0
    size = 0
    samples = []
    for n, chunk in enumerate(chunks):
        if first_byte is None:
            first_byte = time.monotonic() - started
        lines += chunk.count(b"\n")
        size += len(chunk)
        if n % 50 == 0:
            samples.append(rss_mb())
    seconds = time.monotonic() - started
    rows = lines - 1  # the header
    result = {
        "what": label,
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_second": round(rows / seconds),
        "megabytes": round(size / 2**20, 1),
        "first_byte_ms": round((first_byte or 0) * 1000, 1),
        "rss_start_mb": round(samples[0], 1) if samples else None,
        "rss_max_during_mb": round(max(samples), 1) if samples else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    print(result, flush=True)
    return result


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
    os.environ["DJANGO_DEBUG"] = "0"  # with DEBUG on Django keeps every query: memory would grow
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ.setdefault("DJANGO_HTTPS", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import translation

    from repairs.exports import call_columns, call_rows
    from repairs.models import RepairCall
    from servicedesk import export_jobs, exports
    from servicedesk.models import ExportJob, OrgUnit, User

    assert connection.vendor == "postgresql", "the benchmark runs on PostgreSQL"
    print("load average before:", os.getloadavg(), flush=True)
    hq = User.objects.filter(unit__code="bench-hq").order_by("pk").first()
    assert hq is not None, "seed the database first: bench/seed_calls.py"
    total = RepairCall.objects.count()
    print(f"{total:,} calls; Django started, RSS {rss_mb():.1f} MB", flush=True)
    results = []

    with translation.override("zh-hans"):
        from servicedesk.scoping import scope_to_user

        rows = call_rows(scope_to_user(RepairCall.objects.all(), user=hq).order_by("id"), user=hq)
        response = exports.csv_response(call_columns(hq), rows, filename="calls.csv")
        results.append(consume(response.streaming_content, "CSV, every call (head office)"))
        response.close()

    client = Client()
    client.force_login(hq)
    response = client.get(reverse("export", args=["board", "csv"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and response.streaming
    results.append(consume(response.streaming_content, "CSV over HTTP, the board (head office, open calls)"))
    response.close()

    unit = OrgUnit.objects.filter(code="bench-u05").first()
    dispatcher = User.objects.filter(unit=unit, username__startswith="bench-disp-").order_by("pk").first()
    if dispatcher is not None:
        settings.MEDIA_ROOT = Path(settings.MEDIA_ROOT) / "bench-exports"
        started = time.monotonic()
        with translation.override("zh-hans"):
            job = ExportJob.objects.create(owner=dispatcher, unit=unit, page="board", filters={}, language="zh-hans")
            export_jobs.export_job_run(job_id=job.pk)
        job.refresh_from_db()
        seconds = time.monotonic() - started
        result = {
            "what": f"Excel by the worker's function, the board of {unit.code}",
            "rows": job.rows_done,
            "status": job.status,
            "seconds": round(seconds, 1),
            "rows_per_second": round(job.rows_done / seconds) if seconds else None,
            "file_mb": round(job.file.size / 2**20, 1) if job.file else None,
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        print(result, flush=True)
        results.append(result)
        job.file.delete(save=False)
        job.delete()
    print("load average after:", os.getloadavg(), flush=True)
    peak = peak_rss_mb()
    print(f"peak RSS of the whole run: {peak:.1f} MB (limit {RSS_LIMIT_MB} MB)", flush=True)
    return 0 if peak < RSS_LIMIT_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
