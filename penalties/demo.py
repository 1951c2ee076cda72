"""Demo penalties: a ruled case with an approved ruling (and its notice), one awaiting approval,
one with returned goods in its resale window. Safe to run again: it does nothing once rulings exist.
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone


def _demo_ruled_case(*, number, unit, customer, person, cause, ruled_days_ago, costs=(), returns=()):
    """A case as the complaint workflow leaves it once ruled (used when the complaints demo has none ruled)."""
    from complaints.models import CaseCost, CauseCategory, ComplaintCase, ReturnAllowance

    now = timezone.now()
    case, created = ComplaintCase.objects.get_or_create(
        number=number,
        defaults={
            "unit": unit,
            "customer": customer,
            "technician": person,
            "description": "演示：设备再次故障，客户要求赔偿 Demo: the machine failed again",
            "claimed_amount": Decimal("3000.00"),
            "received_at": now - dt.timedelta(days=ruled_days_ago + 5),
            "status": ComplaintCase.Status.EXPLANATION,
            "stage_entered_at": now - dt.timedelta(days=ruled_days_ago),
            "cause_category": CauseCategory.objects.filter(code=cause).first(),
            "responsible_unit": person.unit,
            "responsible_person": person,
            "ruled_at": now - dt.timedelta(days=ruled_days_ago),
        },
    )
    if created:
        for amount in costs:
            CaseCost.objects.create(case=case, description="运费", amount=Decimal(amount))
        for amount in returns:
            ReturnAllowance.objects.create(
                case=case,
                kind=ReturnAllowance.Kind.RETURN,
                status=ReturnAllowance.Status.POSTED,
                invoice_number="INV-DEMO",
                item="SX-100",
                slip_quantity=Decimal("1"),
                unit_price=Decimal(amount),
                slip_amount=Decimal(amount),
                amount=Decimal(amount),
            )
    return case


def seed_penalties(*, units, users, stdout=None) -> None:
    from repairs.models import Customer

    from . import services
    from .models import PenaltyRuling

    if PenaltyRuling.objects.exists():
        return
    unit = units["sh-centre"]
    customer = Customer.objects.filter(unit=unit).order_by("pk").first()
    if customer is None:
        return
    gm, approver, tech, tech2 = users["gmoffice"], users["depthead"], users["tech"], users["tech2"]
    approved = _demo_ruled_case(
        number="CC-DEMO-P01",
        unit=unit,
        customer=customer,
        person=tech,
        cause="repair_quality",
        ruled_days_ago=3,
        costs=["1850.00"],
    )
    waiting = _demo_ruled_case(
        number="CC-DEMO-P02",
        unit=unit,
        customer=customer,
        person=tech2,
        cause="late_arrival",
        ruled_days_ago=2,
        costs=["420.00"],
    )
    _demo_ruled_case(
        number="CC-DEMO-P03",
        unit=unit,
        customer=customer,
        person=tech2,
        cause="product_quality",
        ruled_days_ago=1,
        returns=["6800.00"],
    )
    ruling = services.ruling_open(user=gm, case_id=approved.pk)
    services.ruling_propose(user=gm, ruling_id=ruling.pk)
    services.ruling_approve(user=approver, ruling_id=ruling.pk)
    ruling = services.ruling_open(user=gm, case_id=waiting.pk)
    services.ruling_propose(user=gm, ruling_id=ruling.pk)
    services.case_losses_open_new()
    if stdout:
        stdout.write("Demo penalties: one approved ruling, one awaiting approval, one loss in its resale window.")
