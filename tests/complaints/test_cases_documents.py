"""The printed documents: handling form (客户抱怨处理表), letter (函告), reminder slip (催办单); reports and exports."""

import csv
import datetime as dt
import io

from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from complaints import services
from complaints.case_selectors import case_report
from complaints.models import ReminderSlip


def pdf_text(response) -> str:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def test_the_handling_form_prints_title_number_and_customer(client, flow):
    case = flow.to(flow.open(), "cause_analysis")
    client.force_login(flow.people["dispatcher"])
    text = pdf_text(client.get(reverse("complaints:case_pdf", args=[case.pk])))
    assert "客户抱怨处理表" in text
    assert case.number in text
    assert "华东精密机械" in text
    assert "主板电容批次不良" in text


def test_the_letter_tells_the_customer_how_the_serious_complaint_was_handled(client, flow, people):
    case = flow.open(severity="serious")
    opinion = case.opinion
    services.customer_opinion_resolve(user=people["deputy_gm"], opinion_id=opinion.pk, outcome="免费更换主板并登门致歉")
    opinion.refresh_from_db()
    client.force_login(people["deputy_gm"])
    text = pdf_text(client.get(reverse("complaints:opinion_letter", args=[opinion.pk])))
    assert "函告" in text and opinion.letter_number in text
    assert "华东精密机械" in text and "免费更换主板并登门致歉" in text


def test_a_general_complaint_has_no_letter(client, flow, people):
    case = flow.open()
    client.force_login(people["service"])
    assert client.get(reverse("complaints:opinion_letter", args=[case.opinion_id])).status_code == 404


def test_the_reminder_slip_prints_title_case_and_customer(client, flow, people):
    past = timezone.now() - dt.timedelta(days=9)
    case = flow.open(received_at=past, now=past)
    services.reminder_slips_issue(now=timezone.now())
    slip = ReminderSlip.objects.get()
    client.force_login(people["gm_office"])
    text = pdf_text(client.get(reverse("complaints:reminder_slip_pdf", args=[slip.pk])))
    assert "催办单" in text and case.number in text and "华东精密机械" in text and slip.display_number in text


def test_the_report_counts_by_stage_department_cause_and_overdue_unit(flow, people, unit):
    flow.open()
    flow.to(flow.open(), "instructions")
    past = timezone.now() - dt.timedelta(days=9)
    flow.open(received_at=past, now=past)
    report = case_report(user=people["gm_office"], now=timezone.now())
    stages = dict((str(k), v) for k, v in report["by_stage"])
    assert report["total"] == 3
    assert stages["Received"] == 2 and stages["Manager's instructions"] == 1
    assert dict(report["by_department"])["Manufacturing"] == 1
    assert dict(report["by_cause"])[None] == 2
    assert dict(report["overdue_by_unit"]) == {unit.name: 1}


def test_the_average_time_per_stage_comes_from_the_history(flow, people, clock):
    # The history is append-only (servicedesk migration 0003): build it at known times instead of editing it.
    # The stays: received two days, investigation one day.
    base = timezone.now() - dt.timedelta(days=10)
    clock.set(base)
    case = flow.open(received_at=base, now=base)
    clock.set(base + dt.timedelta(days=2))
    case = flow.to(case, "investigation")
    clock.set(base + dt.timedelta(days=3))
    flow.to(case, "cause_analysis")
    clock.set(None)
    times = {
        str(label): (average, stays)
        for label, average, stays in case_report(user=people["gm_office"], now=timezone.now())["stage_times"]
    }
    assert times["Received"] == (dt.timedelta(days=2), 1)
    assert times["Investigation and responsibility"] == (dt.timedelta(days=1), 1)
    assert times["Cause analysis and countermeasures"] == (None, 0)


def test_the_report_exports_as_csv_and_excel(client, flow, people):
    flow.open()
    client.force_login(people["gm_office"])
    response = client.get(reverse("complaints:case_reports_export", args=["csv"]))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert ["By stage", "Received", "1", ""] in rows
    xlsx = client.get(reverse("complaints:case_reports_export", args=["xlsx"]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get(reverse("complaints:case_reports_export", args=["doc"])).status_code == 404
    assert client.get(reverse("complaints:case_reports")).status_code == 200


def test_the_report_is_not_for_branch_staff(client, flow):
    client.force_login(flow.people["dispatcher"])
    assert client.get(reverse("complaints:case_reports")).status_code == 403
