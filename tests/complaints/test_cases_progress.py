"""The case's stage progress bar (issue 16): every stage in workflow order, done / current / to come, each
with its deadline and whether it is late, the current one marked for assistive technology."""

import datetime as dt
from html.parser import HTMLParser
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.utils import translation

from complaints.models import ComplaintCase
from complaints.stages import CURRENT, DONE, TO_COME, StageRule, stage_progress
from servicedesk.calendars import CalendarSpec

S = ComplaintCase.Status
SH = ZoneInfo("Asia/Shanghai")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


class _Steps(HTMLParser):
    """The progress list's steps: (stage, state, aria-current, text) in document order."""

    def __init__(self):
        super().__init__()
        self.steps, self._depth, self._in_list = [], 0, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "ol" and attrs.get("id") == "case-progress":
            self._in_list = True
        elif self._in_list and tag == "li":
            self.steps.append([attrs.get("data-stage"), attrs.get("data-state"), attrs.get("aria-current"), ""])

    def handle_endtag(self, tag):
        if tag == "ol":
            self._in_list = False

    def handle_data(self, data):
        if self._in_list and self.steps:
            self.steps[-1][3] += data


def _steps(html: str):
    parser = _Steps()
    parser.feed(html)
    return [(stage, state, current, " ".join(text.split())) for stage, state, current, text in parser.steps]


def test_the_case_page_shows_the_stages_in_order_and_marks_the_current_one(client, flow, people):
    case = flow.to(flow.open(), "cause_analysis")
    client.force_login(people["factory"])
    steps = _steps(client.get(case.get_absolute_url()).text)
    assert [stage for stage, *_ in steps] == list(S.values)
    assert [state for _, state, *_ in steps] == [DONE, DONE, CURRENT] + [TO_COME] * 6
    assert [stage for stage, _, current, _ in steps if current] == ["cause_analysis"]
    current_text = steps[2][3]
    assert "Current stage" in current_text and "due" in current_text
    # A stage done says so in words and when it was completed; one to come, how many working days it has.
    assert "Done" in steps[0][3] and "completed" in steps[0][3]
    assert "working day" in steps[3][3]


def test_the_progress_bar_reads_in_chinese(client, flow, people):
    case = flow.to(flow.open(), "investigation")
    client.force_login(people["quality"])
    steps = _steps(client.get(case.get_absolute_url(), **ZH).text)
    with translation.override("zh-hans"):
        label = str(S.INVESTIGATION.label)
    assert label != "Investigation and responsibility"
    stage, state, current, text = steps[1]
    assert (stage, state, current) == ("investigation", CURRENT, "step")
    assert label in text and "当前阶段" in text
    assert "已完成" in steps[0][3] and "未开始" in steps[2][3]


def _rules(days=1):
    return {stage: StageRule(working_days=days, calendar=CalendarSpec(), owner_unit_id=None) for stage in S.values}


def _change(at, from_status, to_status, pk):
    return SimpleNamespace(at=at, from_status=from_status, to_status=to_status, pk=pk)


def test_a_stage_left_after_its_deadline_is_late_and_the_current_one_overdue_once_past_due():
    monday = dt.datetime(2026, 1, 5, 10, 0, tzinfo=SH)
    history = [
        _change(monday, "", "received", 1),
        # One working day (9:00 to 17:00) from Monday 10:00 ends Tuesday 10:00: left at 11:00, late.
        _change(monday + dt.timedelta(days=1, hours=1), "received", "investigation", 2),
    ]
    case = SimpleNamespace(
        status="investigation",
        stage_entered_at=history[1].at,
        stage_due_at=monday + dt.timedelta(days=2, hours=1),
    )
    steps = stage_progress(case=case, history=history, rules=_rules(), now=monday + dt.timedelta(days=1, hours=2))
    received, investigation = steps[0], steps[1]
    assert received.state == DONE and received.due_at == monday + dt.timedelta(days=1) and received.late
    assert investigation.state == CURRENT and investigation.is_current and not investigation.late
    later = stage_progress(case=case, history=history, rules=_rules(), now=monday + dt.timedelta(days=3))
    assert later[1].late


def test_an_opinion_sent_back_is_current_again_and_the_approval_to_come():
    start = dt.datetime(2026, 1, 5, 9, 30, tzinfo=SH)
    path = ["received", "investigation", "cause_analysis", "instructions", "opinion", "approval", "opinion"]
    history = [
        _change(start + dt.timedelta(hours=i), path[i - 1] if i else "", status, i + 1) for i, status in enumerate(path)
    ]
    case = SimpleNamespace(status="opinion", stage_entered_at=history[-1].at, stage_due_at=None)
    steps = stage_progress(case=case, history=reversed(history), rules=_rules(), now=start + dt.timedelta(hours=7))
    states = {step.stage: step.state for step in steps}
    assert states["instructions"] == DONE and states["opinion"] == CURRENT and states["approval"] == TO_COME
    assert steps[3].left_at == history[4].at and not steps[3].late


def test_an_audited_case_is_done_throughout_and_marks_the_audit_as_where_it_stands():
    start = dt.datetime(2026, 1, 5, 9, 30, tzinfo=SH)
    history = [
        _change(start + dt.timedelta(minutes=i), S.values[i - 1] if i else "", status, i + 1)
        for i, status in enumerate(S.values)
    ]
    case = SimpleNamespace(status="audited", stage_entered_at=history[-1].at, stage_due_at=None)
    steps = stage_progress(case=case, history=history, rules=_rules(), now=start + dt.timedelta(days=1))
    assert all(step.state == DONE for step in steps)
    assert [step.stage for step in steps if step.is_current] == ["audited"]
    assert not any(step.late for step in steps)
