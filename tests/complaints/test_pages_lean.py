"""The complaint case and opinion pages read a fixed number of queries however much they carry (issue 17)."""

import re
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from complaints import services
from complaints.case_forms import ActionProposeForm, ReturnForm
from complaints.services import opinion_follow_up_record
from complaints.stages import action_owners
from tests.factories import UserFactory
from tests.page_queries import page_queries

BUDGET = 8


def test_the_opinion_page_costs_the_same_with_one_follow_up_and_with_six(client, flow, people):
    quiet = flow.open()
    busy = flow.open()
    flow.follow_up(quiet)
    for i in range(6):
        opinion_follow_up_record(
            user=people["supervisor"],
            opinion_id=busy.opinion_id,
            followed_up_at=timezone.now(),
            method="phone" if i % 2 else "visit",
            summary=f"follow-up {i}",
        )
    for user in (people["service"], people["supervisor"]):
        client.force_login(user)
        few, _page = page_queries(client, reverse("complaints:opinion_detail", args=[quiet.opinion_id]))
        many, page = page_queries(client, reverse("complaints:opinion_detail", args=[busy.opinion_id]))
        assert few == many <= BUDGET, (user, few, many)
        assert all(f"follow-up {i}" in page for i in range(6))


# The case page: the session, the user, the case, its returns, its actions, its history, its follow-ups (13
# before): the deadline table, the follow-up policy, the pickers' people, the units, cause category and people
# its rows name, and its slips, attachments and costs are kept per process (complaints.case_page_cache).
CASE_PAGE_QUERIES = 7


def _busy(flow, people, case):
    for i in range(5):
        services.case_cost_record(user=people["dispatcher"], case_id=case.pk, description=f"cost {i}", amount="10.5")
        services.improvement_action_propose(
            user=people["dispatcher"],
            case_id=case.pk,
            proposal=f"proposal {i}",
            owner=people["factory"],
            due_on=timezone.localdate(),
        )
        services.return_allowance_record(
            user=people["dispatcher"],
            case_id=case.pk,
            kind="return",
            invoice_number=f"INV-{i}",
            item="控制主板 CB-7",
            slip_quantity="2",
            unit_price="100.00",
            slip_amount="200.00",
        )
    flow.follow_up(case)
    flow.follow_up(case)


def test_the_case_page_costs_the_same_with_nothing_behind_it_and_with_five_of_everything(client, flow, people):
    quiet = flow.to(flow.open(), "cause_analysis")
    busy = flow.to(flow.open(), "cause_analysis")
    _busy(flow, people, busy)
    for user in (people["gm_office"], people["dispatcher"], people["factory"]):
        client.force_login(user)
        few, _page = page_queries(client, quiet.get_absolute_url())
        many, page = page_queries(client, busy.get_absolute_url())
        assert few == many <= CASE_PAGE_QUERIES <= BUDGET, (user, few, many)
        assert all(f"proposal {i}" in page and f"cost {i}" in page and f"INV-{i}" in page for i in range(5))


def test_the_case_pages_loss_is_the_posted_returns_and_the_costs(client, flow, people):
    case = flow.to(flow.open(), "cause_analysis")
    _busy(flow, people, case)
    item = case.returns.order_by("pk").first()
    services.return_allowance_check(
        user=people["supervisor"], return_id=item.pk, returned_quantity="2", accepted_quantity="2"
    )
    services.return_allowance_post(user=people["accounting"], return_id=item.pk, voucher_number="PZ-1")
    client.force_login(people["gm_office"])
    response = client.get(case.get_absolute_url())
    assert response.context["loss"] == case.loss_amount() == Decimal("252.50")  # 200 posted + 5 × 10.50


def test_the_case_pages_pickers_read_once_offer_what_their_fields_offer(flow, people, unit):
    case = flow.to(flow.open(), "cause_analysis")
    UserFactory(username="left", unit=unit, is_active=False)
    read_once = list(action_owners(case=case))
    owner = str(ActionProposeForm(case=case)["owner"])
    assert str(ActionProposeForm(case=case, people=read_once)["owner"]) == owner
    assert "mfg-head" in owner or str(people["factory"]) in owner

    def options(html):
        return sorted(re.findall(r"<option[^>]*>[^<]*</option>", html))

    salesperson = str(ReturnForm(case=case)["salesperson"])
    assert options(str(ReturnForm(case=case, people=read_once)["salesperson"])) == options(salesperson)
    assert str(people["dispatcher"]) in salesperson and str(people["factory"]) not in salesperson
