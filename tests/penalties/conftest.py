"""Ruled complaint cases and the people around a penalty ruling.

The complaint-case workflow (issue 6) has no service that walks a case to its ruling yet, so a
ruled case is written directly as that workflow leaves it: status "explanation", ``ruled_at`` set,
cause category and responsibility from the investigation. Everything after that goes through the
penalties services, the way users do it.
"""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from complaints.models import CaseCost, CauseCategory, ComplaintCase, ReturnAllowance
from penalties import services
from penalties.models import PenaltyRuling
from servicedesk.models import OrgUnit
from servicedesk.roles import Role
from tests.factories import CustomerFactory, OrgUnitFactory, UserFactory

_numbers = itertools.count(1)


def make_ruled_case(
    *,
    unit,
    responsible_person=None,
    responsible_unit=None,
    cause="product_quality",
    received_at=None,
    ruled_at=None,
    costs=(),
    returns=(),
    allowances=(),
    technician=None,
):
    now = timezone.now()
    received_at = received_at or now - dt.timedelta(days=3)
    ruled_at = ruled_at or max(received_at, now - dt.timedelta(days=1))
    case = ComplaintCase.objects.create(
        number=f"CC-T-{next(_numbers):06d}",
        unit=unit,
        customer=CustomerFactory(unit=unit),
        technician=technician,
        description="The machine broke again",
        claimed_amount=Decimal("1000.00"),
        received_at=received_at,
        status=ComplaintCase.Status.EXPLANATION,
        stage_entered_at=ruled_at,
        cause_category=CauseCategory.objects.get(code=cause) if cause else None,
        responsible_unit=responsible_unit or (responsible_person.unit if responsible_person else None),
        responsible_person=responsible_person,
        ruled_at=ruled_at,
    )
    for amount in costs:
        CaseCost.objects.create(case=case, description="Freight", amount=Decimal(amount))
    for kind, amounts in ((ReturnAllowance.Kind.RETURN, returns), (ReturnAllowance.Kind.ALLOWANCE, allowances)):
        for amount in amounts:
            ReturnAllowance.objects.create(
                case=case,
                kind=kind,
                status=ReturnAllowance.Status.POSTED,
                invoice_number="INV-1",
                item="SX-100",
                slip_quantity=Decimal("1"),
                unit_price=Decimal(amount),
                slip_amount=Decimal(amount),
                amount=Decimal(amount),
            )
    return case


@pytest.fixture
def gm_unit(db):
    return OrgUnitFactory(code="gm-office", name="GM Office", kind=OrgUnit.Kind.HEAD_OFFICE)


@pytest.fixture
def quality(db):
    return OrgUnitFactory(code="quality", name="Quality Management", kind=OrgUnit.Kind.HEAD_OFFICE)


@pytest.fixture
def gm_office(gm_unit):
    return UserFactory(username="gmoffice", unit=gm_unit, roles=[Role.GM_OFFICE])


@pytest.fixture
def gm_office_2(gm_unit):
    return UserFactory(username="gmoffice2", unit=gm_unit, roles=[Role.GM_OFFICE])


@pytest.fixture
def manager(quality):
    return UserFactory(username="depthead", unit=quality, roles=[Role.DEPARTMENT_HEAD])


@pytest.fixture
def deputy_gm(head_office):
    return UserFactory(username="deputygm", unit=head_office, roles=[Role.DEPUTY_GM])


@pytest.fixture
def ruled_case(unit, technician):
    return make_ruled_case(unit=unit, responsible_person=technician, costs=["1234.56"])


def open_and_propose(*, case, by, shares=None):
    ruling = services.ruling_open(user=by, case_id=case.pk)
    if shares is not None:
        services.ruling_set_shares(user=by, ruling_id=ruling.pk, shares=shares)
    return services.ruling_propose(user=by, ruling_id=ruling.pk)


def approved_ruling(*, case, by, approver, shares=None) -> PenaltyRuling:
    ruling = open_and_propose(case=case, by=by, shares=shares)
    return services.ruling_approve(user=approver, ruling_id=ruling.pk)
