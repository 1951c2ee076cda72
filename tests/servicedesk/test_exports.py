"""The shared export mechanism (servicedesk/exports.py): streamed CSV, Excel in the request and in the worker."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from repairs.models import RepairCall
from servicedesk import export_jobs, exports
from servicedesk.exports import Column
from servicedesk.models import ExportJob
from servicedesk.roles import Role
from tests.factories import CustomerFactory, SiteFactory, UserFactory, log_call

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode()), "the CSV starts with the UTF-8 BOM"
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:])))


def _board_csv(client, **params):
    response = client.get(reverse("export", args=["board", "csv"]), params)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    return _csv_rows(response)


def test_the_streamed_board_csv_reads_back_as_the_boards_calls(client, dispatcher):
    calls = [log_call(dispatcher=dispatcher, contact_name=f"Contact {n}") for n in range(3)]
    client.force_login(dispatcher)
    rows = _board_csv(client)
    header, body = rows[0], rows[1:]
    by_number = {row[header.index("call number")]: row for row in body}
    assert set(by_number) == {c.number for c in calls}
    for call in calls:
        row = by_number[call.number]
        assert row[header.index("customer")] == call.customer.name
        assert row[header.index("contact")] == call.contact_name
        assert row[header.index("status")] == "Logged"  # the label, not the code
        assert row[header.index("attend by")] == timezone.localtime(call.attend_by).strftime("%Y-%m-%d %H:%M")


def test_the_board_export_applies_the_boards_filters(client, dispatcher, technician):
    from repairs import services

    waiting = log_call(dispatcher=dispatcher)
    sent = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(
        user=dispatcher, call_id=sent.pk, technician=technician, expected_version=sent.version
    )
    client.force_login(dispatcher)
    numbers = [row[0] for row in _board_csv(client, status="dispatched")[1:]]
    assert numbers == [sent.number]
    assert waiting.number not in numbers


def test_another_units_calls_are_never_in_the_file(client, dispatcher, other_dispatcher, unit):
    ours = log_call(dispatcher=dispatcher)
    theirs = log_call(dispatcher=other_dispatcher)
    client.force_login(other_dispatcher)
    numbers = [row[0] for row in _board_csv(client, unit=unit.pk)[1:]]
    assert numbers == [theirs.number]
    xlsx = client.get(reverse("export", args=["board", "xlsx"]), {"unit": unit.pk})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert ours.number not in [r[0] for r in sheet.iter_rows(values_only=True)]


def test_head_office_export_has_every_unit_and_a_unit_column(client, dispatcher, other_dispatcher, head_office_user):
    a, b = log_call(dispatcher=dispatcher), log_call(dispatcher=other_dispatcher)
    client.force_login(head_office_user)
    rows = _board_csv(client)
    assert {r[0] for r in rows[1:]} == {a.number, b.number}
    assert "unit" in rows[0]


def test_headers_are_in_the_users_language(client, dispatcher):
    log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    with translation.override("zh-hans"):
        response = client.get(reverse("export", args=["board", "csv"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
        rows = _csv_rows(response)
    assert rows[0][:3] == ["叫修单号", "客户", "状态"] or "叫修单号" in rows[0]
    assert rows[1][rows[0].index("状态")] == "已登记"  # the status's label in Chinese, never the code


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_text_that_would_run_as_a_formula_is_written_as_text(client, dispatcher, dangerous):
    site = SiteFactory(customer=CustomerFactory(unit=dispatcher.unit, name=dangerous))
    log_call(dispatcher=dispatcher, site=site)
    client.force_login(dispatcher)
    rows = _board_csv(client)
    cell = rows[1][rows[0].index("customer")]
    assert cell == "'" + dangerous
    xlsx = client.get(reverse("export", args=["board", "xlsx"]))
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][list(values[0]).index("customer")].startswith("'" + dangerous[0].replace("\r", "\n"))


def test_cells_keep_their_kind_decimals_numbers_and_local_times():
    late_evening = dt.datetime(2026, 10, 31, 15, 30, tzinfo=dt.UTC)  # 23:30 in Shanghai
    row = {"amount": Decimal("-12.50"), "at": late_evening, "n": 7, "status": "logged", "name": "-x"}
    columns = [
        Column("amount", "amount", exports.DECIMAL),
        Column("at", "at", exports.DATETIME),
        Column("n", "n", exports.INTEGER),
        Column("status", "status", exports.CHOICE, RepairCall.Status),
        Column("name", "name"),
    ]
    assert [c.cell(row, for_xlsx=False) for c in columns] == ["-12.50", "2026-10-31 23:30", 7, "Logged", "'-x"]
    out = io.BytesIO()
    exports.write_xlsx(out, columns, [row])
    sheet = load_workbook(out).active
    amount, at, n, status, name = next(sheet.iter_rows(min_row=2, values_only=True))
    assert amount == Decimal("-12.50") or amount == -12.5
    assert at == dt.datetime(2026, 10, 31, 23, 30)
    assert (n, status, name) == (7, "Logged", "'-x")


def test_the_streamed_csv_runs_the_same_queries_for_3_and_30_calls(client, dispatcher, django_assert_max_num_queries):
    for _ in range(3):
        log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    url = reverse("export", args=["board", "csv"])
    with django_assert_max_num_queries(20) as few:
        b"".join(client.get(url).streaming_content)
    for _ in range(27):
        log_call(dispatcher=dispatcher)
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = b"".join(client.get(url).streaming_content).decode("utf-8-sig").splitlines()
    assert len(rows) == 31


def test_a_user_without_the_pages_permission_is_refused(client, unit):
    client.force_login(UserFactory(username="nobody", unit=unit, roles=[]))
    assert client.get(reverse("export", args=["board", "csv"])).status_code == 403
    assert client.get(reverse("export", args=["no-such-page", "csv"])).status_code == 404
    assert client.get(reverse("export", args=["board", "pdf"])).status_code == 404


def test_a_large_excel_export_runs_in_the_worker_and_only_its_owner_downloads_it(
    client, dispatcher, unit, monkeypatch, django_capture_on_commit_callbacks
):
    from servicedesk import tasks

    monkeypatch.setattr(exports, "XLSX_INLINE_ROWS", 2)
    queued = []
    monkeypatch.setattr(tasks.run_export_job, "apply_async", lambda args, **kw: queued.append(args))
    calls = [log_call(dispatcher=dispatcher) for _ in range(3)]
    client.force_login(dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("export", args=["board", "xlsx"]))
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    assert queued == [[job.pk]] and job.status == ExportJob.Status.QUEUED and job.rows_total == 3
    page = client.get(job.get_absolute_url())
    assert 'id="export-progress"' in page.text and "hx-get" in page.text

    tasks.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.rows_done == 3 and job.finished_at
    progress = client.get(reverse("export_job_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"
    assert reverse("export_job_download", args=[job.pk]) in client.get(job.get_absolute_url()).text
    download = client.get(reverse("export_job_download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert sorted(r[0] for r in sheet.iter_rows(min_row=2, values_only=True)) == sorted(c.number for c in calls)

    # A second delivery of the task leaves the finished job alone.
    tasks.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE

    colleague = Client()
    colleague.force_login(UserFactory(username="dispatcher2", unit=unit, roles=[Role.DISPATCHER]))
    for name in ("export_job", "export_job_progress", "export_job_download"):
        assert colleague.get(reverse(name, args=[job.pk])).status_code == 404


def test_old_export_files_are_deleted_once(dispatcher, monkeypatch):
    from servicedesk import tasks

    monkeypatch.setattr(tasks.run_export_job, "apply_async", lambda args, **kw: None)
    log_call(dispatcher=dispatcher)
    job = export_jobs.export_job_start(user=dispatcher, page="board", fmt="xlsx", params=exports.params_of({}))
    export_jobs.export_job_run(job_id=job.pk)
    job.refresh_from_db()
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)
    assert export_jobs.export_jobs_clean(now=timezone.now()) == 0  # still within its time
    later = timezone.now() + export_jobs.EXPORT_KEEP + dt.timedelta(minutes=1)
    from django.test.utils import CaptureQueriesContext  # noqa: F401

    with pytest.MonkeyPatch.context():
        assert export_jobs.export_jobs_clean(now=later) == 1
    assert export_jobs.export_jobs_clean(now=later) == 0
    job.refresh_from_db()
    assert job.status == ExportJob.Status.EXPIRED and not job.file


@pytest.mark.parametrize("page", sorted(exports.registered()))
def test_every_list_page_exports_csv_and_excel_with_translated_headers(page, unit, head_office):
    from django.contrib.auth.models import Group

    user = UserFactory(username="everything", unit=head_office, roles=[])
    user.groups.set(Group.objects.all())
    client = Client()
    client.force_login(user)
    params = {"unit": unit.pk, "month": timezone.localdate().strftime("%Y-%m")}
    csv_response = client.get(reverse("export", args=[page, "csv"]), params, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert csv_response.status_code == 200, csv_response.status_code
    body = b"".join(csv_response.streaming_content) if csv_response.streaming else csv_response.content
    header = body.decode("utf-8").splitlines()[0]
    assert header.startswith("\ufeff")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in header), header  # the users' language, Chinese
    xlsx = client.get(reverse("export", args=[page, "xlsx"]), params)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
