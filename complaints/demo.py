"""Demo survey cards: the demo calls' cards as the nightly run issues them, a few answers, one complaint."""

import datetime as dt

from django.utils import timezone

from .models import SurveyCard
from .services import SurveyAnswer, survey_card_answer_on_paper, survey_card_answer_online, survey_cards_issue


def seed_surveys(*, users, stdout=None) -> None:
    """Safe to run again: cards are issued once per call and only unanswered demo cards are answered."""
    now = timezone.now()
    # The demo calls are today's: issue their cards as tonight's run will.
    issued = survey_cards_issue(now=now + dt.timedelta(days=1))
    if SurveyCard.objects.filter(status=SurveyCard.Status.ANSWERED).exists():
        return
    cards = list(
        SurveyCard.objects.filter(unit=users["dispatcher"].unit, call__technician__isnull=False)
        .select_related("call")
        .order_by("id")[:3]
    )
    answers = [
        SurveyAnswer(
            attitude=5,
            technique=5,
            arrival=4,
            follow_through=5,
            opinion_kind="suggestion",
            opinion_text="希望到达前先电话告知。",
        ),
        SurveyAnswer(
            attitude=3,
            technique=4,
            arrival=2,
            follow_through=3,
            opinion_kind="complaint",
            opinion_text="技术员比约定时间晚到了两个小时，也没有提前通知。",
        ),
        SurveyAnswer(attitude=4, technique=4, arrival=4, follow_through=4),
    ]
    for index, (card, answer) in enumerate(zip(cards, answers, strict=False)):
        if index == 1:
            survey_card_answer_online(card_id=card.pk, token=card.token, answer=answer)
        else:
            survey_card_answer_on_paper(user=users["dispatcher"], card_id=card.pk, answer=answer)
    if stdout is not None:
        stdout.write(f"Survey cards: {issued} issued, {len(cards)} answered (one complaint).")


def seed_complaints(*, units, users, stdout=None) -> None:
    """Demo complaints and cases: a serious and a general complaint, a case mid-way, an overdue one with its slip.

    Safe to run again: does nothing once a complaint case exists.
    """
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from repairs.models import Customer
    from servicedesk.models import OrgUnit
    from servicedesk.roles import Role

    from .case_page_cache import generation as case_page_generation
    from .models import CauseCategory, ComplaintCase, StageDeadline
    from .services import (
        StageInput,
        complaint_case_open,
        complaint_case_transition,
        customer_opinion_record,
        reminder_slips_issue,
    )

    if ComplaintCase.objects.exists():
        return
    StageDeadline.objects.filter(stage="investigation", owner_unit__isnull=True).update(owner_unit=units["quality"])
    case_page_generation.replace()  # update() sends no post_save: the case pages' kept deadline table is stale
    manufacturing, _created = OrgUnit.objects.get_or_create(
        code="manufacturing", defaults={"name": "制造部", "name_en": "Manufacturing", "kind": OrgUnit.Kind.HEAD_OFFICE}
    )
    mfg_head, created = get_user_model().objects.get_or_create(
        username="mfghead",
        defaults={"first_name": "制造", "last_name": "钱", "unit": manufacturing, "email": "mfghead@example.com"},
    )
    if created:
        mfg_head.set_password("demo-pass-2026")
        mfg_head.save()
        mfg_head.groups.set(Group.objects.filter(name=Role.DEPARTMENT_HEAD))
    unit = units["sh-centre"]
    customers = list(Customer.objects.filter(unit=unit).order_by("pk")[:3])
    if len(customers) < 3:
        return
    now = timezone.now()
    dispatcher = users["dispatcher"]
    serious = customer_opinion_record(
        unit=unit,
        customer=customers[0],
        kind="complaint",
        source="phone",
        severity="serious",
        text="新装设备三天内两次停机，生产线停工半天，要求赔偿损失。",
        received_at=now - dt.timedelta(hours=3),
        by=dispatcher,
    )
    customer_opinion_record(
        unit=unit,
        customer=customers[1],
        kind="complaint",
        source="letter",
        text="维修后机器外壳有划痕。",
        received_at=now - dt.timedelta(days=1),
        by=dispatcher,
    )
    # A case in the middle: the responsible department is analysing the cause.
    middle = complaint_case_open(
        user=dispatcher,
        unit=unit,
        customer=serious.customer,
        opinion=serious,
        description=serious.text,
        product_description="SX-100 SN20260001",
        claimed_amount=Decimal("12000.00"),
    )
    complaint_case_transition(user=dispatcher, case_id=middle.pk, to_status="investigation")
    complaint_case_transition(
        user=users["depthead"],
        case_id=middle.pk,
        to_status="cause_analysis",
        data=StageInput(
            investigation_findings="控制板电源模块批次不良。",
            cause_category=CauseCategory.objects.get(code="product_quality"),
            responsible_unit=manufacturing,
        ),
    )
    # An overdue one: received ten days ago and never passed on; tonight's check has issued its slip.
    past = now - dt.timedelta(days=10)
    complaint_case_open(
        user=dispatcher,
        unit=unit,
        customer=customers[2],
        description="技术员两次爽约，客户要求更换服务人员。",
        kind="service",
        received_at=past,
        now=past,
    )
    slips = reminder_slips_issue(now=now)
    if stdout is not None:
        stdout.write(f"Complaints: 2 opinions, 2 cases, {slips} reminder slip(s).")
