import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from complaints import services
from complaints.models import SurveyCard
from repairs import services as repair_services
from servicedesk.roles import Role
from tests.factories import UserFactory, log_call


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The public form's counters live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


class Clock:
    """The services stamp real time; a test that builds last month's history moves this clock instead."""

    def __init__(self, monkeypatch):
        self.now = None
        monkeypatch.setattr(timezone, "now", self._now)

    def _now(self):
        return self.now if self.now is not None else dt.datetime.now(tz=dt.UTC)

    def set(self, when: dt.datetime) -> dt.datetime:
        self.now = when
        return when


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def local(year, month, day, hour=9, minute=0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


def run_for(day: dt.date, **kwargs) -> int:
    """The daily run as beat starts it just after midnight following ``day``."""
    return services.survey_cards_issue(
        now=timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 20))), **kwargs
    )


def call_at(clock, *, dispatcher, at: dt.datetime, technician=None, arrive_after=None, cancel=False, **kwargs):
    """A repair call received at ``at``, dispatched 10 minutes later, attended ``arrive_after`` later."""
    clock.set(at)
    call = log_call(dispatcher=dispatcher, received_at=at, now=at, **kwargs)
    if cancel:
        clock.set(at + dt.timedelta(minutes=5))
        repair_services.repair_call_cancel(user=dispatcher, call_id=call.pk, reason="solved by the customer")
    elif technician is not None:
        clock.set(at + dt.timedelta(minutes=10))
        repair_services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
        if arrive_after is not None:
            clock.set(at + arrive_after)
            repair_services.repair_call_record_arrival(user=technician, call_id=call.pk)
    clock.now = None
    call.refresh_from_db()
    return call


def card_of(call) -> SurveyCard:
    return SurveyCard.objects.get(call=call)


@pytest.fixture
def service_staff(head_office):
    return UserFactory(username="servicedept", unit=head_office, roles=[Role.SERVICE_DEPARTMENT])


@pytest.fixture
def issued_card(dispatcher, technician):
    """A card for a call logged and attended today, issued as tomorrow's run would."""
    call = log_call(dispatcher=dispatcher)
    repair_services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    run_for(timezone.localdate())
    return card_of(call)


# --- Complaint cases: the people of each stage, and a case taken through them ------------------------------------


@pytest.fixture
def quality_unit(db):
    from complaints.models import StageDeadline
    from tests.factories import OrgUnitFactory

    quality = OrgUnitFactory(code="quality", name="Quality Management", kind="head_office")
    # Quality management investigates: named on the investigation row of the deadline table.
    StageDeadline.objects.filter(stage="investigation").update(owner_unit=quality)
    return quality


@pytest.fixture
def factory_unit(db):
    from tests.factories import OrgUnitFactory

    return OrgUnitFactory(code="manufacturing", name="Manufacturing", kind="head_office")


@pytest.fixture
def people(unit, quality_unit, factory_unit, head_office, dispatcher, supervisor):
    """One person per role a case passes through."""
    from tests.factories import OrgUnitFactory

    gm_unit = OrgUnitFactory(code="gm-office", name="GM Office", kind="head_office")
    return {
        "dispatcher": dispatcher,
        "supervisor": supervisor,
        "quality": UserFactory(username="qm-head", unit=quality_unit, roles=[Role.DEPARTMENT_HEAD]),
        "factory": UserFactory(username="mfg-head", unit=factory_unit, roles=[Role.DEPARTMENT_HEAD]),
        "gm_office": UserFactory(username="gm-office", unit=gm_unit, roles=[Role.GM_OFFICE]),
        "deputy_gm": UserFactory(username="deputy-gm", unit=gm_unit, roles=[Role.DEPUTY_GM]),
        "service": UserFactory(username="svc-dept", unit=head_office, roles=[Role.SERVICE_DEPARTMENT]),
        "accounting": UserFactory(username="accounts", unit=gm_unit, roles=[Role.ACCOUNTING]),
        "sales_manager": UserFactory(username="sales-mgr", unit=head_office, roles=[Role.SALES_MANAGER]),
    }


class CaseFlow:
    """Takes a case stage by stage as the successive roles would, through the one transition service."""

    def __init__(self, people, factory_unit):
        self.people = people
        self.factory_unit = factory_unit

    def open(self, *, claimed="1000.00", **kwargs):
        from complaints.services import complaint_case_open
        from tests.factories import CustomerFactory

        dispatcher = self.people["dispatcher"]
        customer = kwargs.pop("customer", None) or CustomerFactory(unit=dispatcher.unit, name="华东精密机械")
        return complaint_case_open(
            user=dispatcher,
            unit=dispatcher.unit,
            customer=customer,
            description=kwargs.pop("description", "设备运行两天后主板烧毁"),
            claimed_amount=claimed,
            **kwargs,
        )

    def actor(self, case, to_status):
        from complaints.models import ApprovalAuthority

        stage = case.status
        if stage in ("received", "opinion", "explanation"):
            return self.people["dispatcher"] if stage != "opinion" else self.people["supervisor"]
        if stage == "investigation":
            return self.people["quality"]
        if stage == "cause_analysis":
            return self.people["factory"]
        if stage in ("instructions", "closed"):
            return self.people["gm_office"]
        if stage == "approval":
            role = ApprovalAuthority.objects.get(role=case.approval_role).role
            return {"sales_manager": self.people["sales_manager"], "deputy_gm": self.people["deputy_gm"]}.get(
                role, self.people["gm_office"]
            )
        raise AssertionError(stage)

    def data(self, case, to_status):
        from complaints.models import CauseCategory
        from complaints.services import StageInput

        return StageInput(
            note=f"to {to_status}",
            investigation_findings="主板电容批次不良",
            cause_category=CauseCategory.objects.get(code="product_quality"),
            responsible_unit=self.factory_unit,
            cause_analysis="供应商电容耐压不足",
            countermeasures="更换供应商，入厂检验加严",
            manager_instructions="同意，尽快处理",
            comprehensive_opinion="免费更换主板并补偿运费",
            customer_result="客户接受更换方案",
        )

    def follow_up(self, case, *, method="visit"):
        """The supervisor's follow-up of the case's complaint: a visit (which counts), or a phone call."""
        from complaints.services import opinion_follow_up_record

        return opinion_follow_up_record(
            user=self.people["supervisor"],
            opinion_id=case.opinion_id,
            followed_up_at=timezone.now(),
            method=method,
            summary="登门致歉，客户表示理解" if method == "visit" else "电话回访",
        )

    def step(self, case, to_status, *, user=None, data=None):
        from complaints.services import complaint_case_transition

        return complaint_case_transition(
            user=user or self.actor(case, to_status),
            case_id=case.pk,
            to_status=to_status,
            data=data or self.data(case, to_status),
        )

    PATH = [
        "investigation",
        "cause_analysis",
        "instructions",
        "opinion",
        "approval",
        "explanation",
        "closed",
        "audited",
    ]

    def to(self, case, stage):
        """Move ``case`` forward along the main path until it is in ``stage``."""
        while case.status != stage:
            following = self.PATH[self.PATH.index(case.status) + 1] if case.status != "received" else self.PATH[0]
            if following == "closed" and not case.opinion.follow_ups.exists():
                self.follow_up(case)
            case = self.step(case, following)
            case.refresh_from_db()
        return case


@pytest.fixture
def flow(people, factory_unit):
    return CaseFlow(people, factory_unit)
