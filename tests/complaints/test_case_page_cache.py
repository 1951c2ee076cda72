"""What the case page keeps per process (complaints.case_page_cache): every change is seen on the next request."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from complaints import case_page_cache
from complaints.case_page_cache import CasePageReads
from complaints.models import FollowUpPolicy, ReminderSlip, StageDeadline
from complaints.services import case_attachment_add, case_cost_record, reminder_slips_issue
from servicedesk.models import CalendarException, WorkingCalendar, WorkingWindow
from tests.factories import UserFactory

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 64


def _page(client, case):
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return response


def _working_days(response, stage):
    return next(step.working_days for step in response.context["progress"] if step.stage == stage)


def test_a_changed_deadline_is_seen_on_the_next_request(client, flow, people):
    case = flow.open()
    client.force_login(people["dispatcher"])
    _page(client, case)
    row, _created = StageDeadline.objects.get_or_create(stage="cause_analysis", defaults={"working_days": 3})
    row.working_days = 17
    row.save()
    assert _working_days(_page(client, case), "cause_analysis") == 17
    row.delete()
    assert _working_days(_page(client, case), "cause_analysis") != 17


def test_the_deadline_table_seen_by_the_demo_after_its_update_is_the_new_one(db):
    token = case_page_cache.generation.current()[0]
    StageDeadline.objects.filter(stage="investigation").update(working_days=11)
    case_page_cache.generation.replace()  # what complaints.demo does after its update()
    assert case_page_cache.generation.current()[0] != token
    assert CasePageReads().rules()["investigation"].working_days == 11


def test_a_changed_calendar_is_seen_by_the_next_read(db):
    calendar = WorkingCalendar.objects.create(name="cn")
    StageDeadline.objects.update_or_create(stage="opinion", defaults={"working_days": 1, "calendar": calendar})
    assert CasePageReads().rules()["opinion"].calendar.windows == ()
    WorkingWindow.objects.create(calendar=calendar, start=dt.time(8, 30), end=dt.time(17, 30))
    assert CasePageReads().rules()["opinion"].calendar.windows == ((dt.time(8, 30), dt.time(17, 30)),)
    CalendarException.objects.create(calendar=calendar, date=dt.date(2026, 3, 5))  # a holiday
    assert CasePageReads().rules()["opinion"].calendar.holidays == {dt.date(2026, 3, 5)}
    calendar.saturday = True
    calendar.save()
    assert 5 in CasePageReads().rules()["opinion"].calendar.weekdays


def test_a_policy_that_lets_a_phone_call_count_is_seen_on_the_next_request(client, flow, people):
    case = flow.to(flow.open(), "explanation")
    flow.follow_up(case, method="phone")
    client.force_login(people["gm_office"])
    assert _page(client, case).context["follow_up_owed"]["refusal"]
    FollowUpPolicy.objects.create(unit=case.unit, phone_counts=True)
    assert _page(client, case).context["follow_up_owed"] == {}


def test_a_renamed_or_deactivated_person_is_seen_on_the_next_request(client, flow, people):
    case = flow.to(flow.open(), "cause_analysis")
    client.force_login(people["dispatcher"])
    colleague = UserFactory(username="colleague", unit=case.unit, first_name="", last_name="")
    assert "colleague" in _page(client, case).text
    colleague.last_name, colleague.first_name = "王", "小明"
    colleague.save()
    page = _page(client, case).text
    assert "王小明" in page or "小明" in page
    colleague.is_active = False
    colleague.save()
    assert "小明" not in _page(client, case).text
    # The case names its dispatcher (received by): a new name is seen there too.
    people["dispatcher"].first_name = "Renamed"
    people["dispatcher"].save()
    assert "Renamed" in _page(client, case).text


def test_a_log_in_keeps_what_is_kept(client, flow, people):
    client.force_login(people["dispatcher"])
    token = case_page_cache.generation.current()[0]
    people["dispatcher"].last_login = timezone.now()
    people["dispatcher"].save(update_fields=["last_login"])
    assert case_page_cache.generation.current()[0] == token


def test_a_new_cost_attachment_or_reminder_slip_is_seen_on_the_next_request(client, flow, people, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    past = timezone.now() - dt.timedelta(days=12)
    case = flow.open(received_at=past, now=past)
    client.force_login(people["dispatcher"])
    first = _page(client, case)
    assert first.context["costs"] == [] and first.context["attachments"] == [] and first.context["slips"] == []
    case_cost_record(user=people["dispatcher"], case_id=case.pk, description="运费", amount="12.50")
    assert [cost.description for cost in _page(client, case).context["costs"]] == ["运费"]
    case_attachment_add(
        user=people["dispatcher"], case_id=case.pk, upload=SimpleUploadedFile("scan.pdf", PDF, "application/pdf")
    )
    assert [a.original_name for a in _page(client, case).context["attachments"]] == ["scan.pdf"]
    assert reminder_slips_issue(now=timezone.now()) == 1  # written with bulk_create: no post_save
    assert [slip.pk for slip in _page(client, case).context["slips"]] == [ReminderSlip.objects.get().pk]


def test_without_the_shared_cache_the_page_reads_the_database(client, flow, people, monkeypatch):
    case = flow.open()
    client.force_login(people["dispatcher"])
    monkeypatch.setattr(case_page_cache.generation, "current", lambda *also: (None, {}))
    _page(client, case)
    row, _created = StageDeadline.objects.get_or_create(stage="cause_analysis", defaults={"working_days": 3})
    StageDeadline.objects.filter(pk=row.pk).update(working_days=19)  # not even a signal: read each time
    assert _working_days(_page(client, case), "cause_analysis") == 19


def test_a_renamed_unit_or_cause_category_is_seen_on_the_next_request(client, flow, people):
    case = flow.to(flow.open(), "instructions")
    case.refresh_from_db()
    assert case.cause_category_id and case.responsible_unit_id
    client.force_login(people["gm_office"])
    _page(client, case)
    category = case.cause_category
    category.name = category.name_en = "电容批次"
    category.save()
    responsible = case.responsible_unit
    responsible.name = responsible.name_en = "总装车间"
    responsible.save()
    page = _page(client, case).text
    assert "电容批次" in page and "总装车间" in page


def test_the_opinion_page_sees_a_renamed_supervisor_on_the_next_request(client, flow, people):
    case = flow.open()
    flow.follow_up(case)
    client.force_login(people["service"])
    url = reverse("complaints:opinion_detail", args=[case.opinion_id])
    assert str(people["supervisor"]) in client.get(url).text
    people["supervisor"].first_name, people["supervisor"].last_name = "建国", "李"
    people["supervisor"].save()
    assert str(people["supervisor"]) in client.get(url).text


def test_the_kept_new_record_forms_are_drawn_in_the_readers_language(client, flow, people):
    case = flow.to(flow.open(), "cause_analysis")
    client.force_login(people["dispatcher"])
    english = _page(client, case).text
    chinese = client.get(case.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").text
    assert 'id="new-return"' in english and 'id="new-return"' in chinese
    assert "Original invoice" in english and "Original invoice" not in chinese
    assert "Original invoice" in _page(client, case).text
