"""The ruling page reads a fixed number of queries, at most 8, however many shares and whoever reads it (issue 17)."""

from penalties import services
from penalties.forms import AdjustForm
from penalties.models import PenaltyKind
from servicedesk.roles import Role
from tests.factories import UserFactory
from tests.page_queries import page_queries

from .conftest import make_ruled_case, open_and_propose

BUDGET = 8
# The session, the user, the ruling, its case, its lines, its corrections, its history, and for the office that
# proposes the active penalty kinds of its adjustment forms (one fewer before, the case read with the ruling): the
# unit and people the ruling and its lines name come from what the complaint case page keeps.
RULING_PAGE_QUERIES = 8


def test_the_ruling_page_costs_the_same_with_one_share_and_with_eight(
    client, unit, technician, gm_office, deputy_gm, manager
):
    one = open_and_propose(case=make_ruled_case(unit=unit, responsible_person=technician, costs=["1000"]), by=gm_office)
    people = [technician] + [UserFactory(unit=unit, roles=[Role.TECHNICIAN]) for _ in range(7)]
    shares = [services.ShareInput(share_percent=12.5, person=person) for person in people]
    case = make_ruled_case(unit=unit, responsible_person=technician, costs=["8000"])
    ruling = services.ruling_open(user=gm_office, case_id=case.pk)
    services.ruling_set_shares(user=gm_office, ruling_id=ruling.pk, shares=shares)
    eight = services.ruling_propose(user=gm_office, ruling_id=ruling.pk)
    assert eight.lines.count() == 8
    # The office that proposes (share forms, adjustments), the approver (the four-eyes check) and a manager.
    for user in (gm_office, deputy_gm, manager):
        client.force_login(user)
        few, _page = page_queries(client, one.get_absolute_url())
        many, page = page_queries(client, eight.get_absolute_url())
        assert few == many <= RULING_PAGE_QUERIES <= BUDGET, (user, few, many)
        for person in people:
            assert str(person) in page


def test_the_adjustment_forms_draw_the_kinds_read_once_as_the_field_draws_them(db):
    kind = PenaltyKind.objects.filter(is_active=True).first()
    initial = {"version": 1, "penalty_kind": kind.pk, "base_units": 1, "amount_per_unit": 2}
    drawn = str(AdjustForm(initial=initial, prefix="line1")["penalty_kind"])
    shared = str(AdjustForm(initial=initial, prefix="line1", kind_choices=AdjustForm.kind_choices())["penalty_kind"])
    assert shared == drawn and "selected" in drawn and PenaltyKind.objects.filter(is_active=True).count() > 1


def test_a_renamed_person_or_unit_is_seen_on_the_ruling_page_on_the_next_request(
    client, unit, technician, gm_office, deputy_gm
):
    ruling = open_and_propose(
        case=make_ruled_case(unit=unit, responsible_person=technician, costs=["1000"]), by=gm_office
    )
    client.force_login(deputy_gm)
    _count, page = page_queries(client, ruling.get_absolute_url())
    assert str(technician) in page
    technician.first_name, technician.last_name = "小明", "王"
    technician.save()
    unit.name = unit.name_en = "浦东服务中心"
    unit.save()
    page = client.get(ruling.get_absolute_url()).text
    assert str(technician) in page and "浦东服务中心" in page
