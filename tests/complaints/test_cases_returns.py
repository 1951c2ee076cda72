"""Returns and allowances: the warehouse count must agree with the slip before accounting posts; Decimal money."""

from decimal import Decimal

import pytest
from django.urls import reverse

from complaints import services
from complaints.models import ReturnAllowance
from servicedesk.exceptions import ApplicationError

R = ReturnAllowance.Status


def record(flow, case, **kwargs):
    values = {
        "kind": "return",
        "invoice_number": "INV-2026-0815",
        "return_slip_number": "TH-001",
        "item": "控制主板 CB-7",
        "slip_quantity": "10",
        "unit_price": "350.50",
        "slip_amount": "3505.00",
    } | kwargs
    return services.return_allowance_record(user=flow.people["dispatcher"], case_id=case.pk, **values)


@pytest.fixture
def case(flow):
    return flow.open()


def test_an_agreeing_count_can_be_posted_and_the_invoice_is_annotated(flow, case):
    item = record(flow, case)
    checked = services.return_allowance_check(
        user=flow.people["supervisor"], return_id=item.pk, returned_quantity="10", accepted_quantity="9"
    )
    assert checked.status == R.CHECKED
    assert checked.amount == Decimal("3154.50")  # nine accepted × 350.50
    posted = services.return_allowance_post(user=flow.people["accounting"], return_id=item.pk, voucher_number="记-0042")
    assert posted.status == R.POSTED and posted.posted_by == flow.people["accounting"]
    for figure in ("10.000", "350.50", "3154.50", "9.000", "记-0042", case.number):
        assert figure in posted.invoice_note
    assert case.loss_amount() == Decimal("3154.50")


def test_a_quantity_mismatch_blocks_posting_until_resolved(flow, case):
    item = record(flow, case)
    mismatch = services.return_allowance_check(
        user=flow.people["supervisor"], return_id=item.pk, returned_quantity="8", accepted_quantity="8"
    )
    assert mismatch.status == R.MISMATCH and "8" in mismatch.mismatch_note
    with pytest.raises(ApplicationError, match="resolve"):
        services.return_allowance_post(user=flow.people["accounting"], return_id=item.pk, voucher_number="V1")
    with pytest.raises(ApplicationError):
        services.return_allowance_resolve(
            user=flow.people["dispatcher"], return_id=item.pk, slip_quantity="8", slip_amount="2804.00", note=""
        )
    resolved = services.return_allowance_resolve(
        user=flow.people["dispatcher"],
        return_id=item.pk,
        slip_quantity="8",
        slip_amount="2804.00",
        note="退货单开错，实退 8 件",
    )
    assert resolved.status == R.CHECKED
    assert (
        services.return_allowance_post(user=flow.people["accounting"], return_id=item.pk, voucher_number="V1").status
        == R.POSTED
    )


def test_an_amount_that_is_not_quantity_times_price_is_a_mismatch(flow, case):
    item = record(flow, case, slip_amount="3600.00")
    checked = services.return_allowance_check(
        user=flow.people["supervisor"], return_id=item.pk, returned_quantity="10", accepted_quantity="10"
    )
    assert checked.status == R.MISMATCH
    with pytest.raises(ApplicationError):
        services.return_allowance_post(user=flow.people["accounting"], return_id=item.pk, voucher_number="V")


def test_nothing_is_posted_before_the_warehouse_check(flow, case):
    item = record(flow, case)
    with pytest.raises(ApplicationError, match="warehouse"):
        services.return_allowance_post(user=flow.people["accounting"], return_id=item.pk, voucher_number="V")


def test_more_cannot_be_accepted_than_came_back(flow, case):
    item = record(flow, case)
    with pytest.raises(ApplicationError):
        services.return_allowance_check(
            user=flow.people["supervisor"], return_id=item.pk, returned_quantity="5", accepted_quantity="6"
        )


def test_only_accounting_posts_and_only_the_warehouse_side_checks(flow, case):
    item = record(flow, case)
    with pytest.raises(ApplicationError):
        services.return_allowance_check(
            user=flow.people["accounting"], return_id=item.pk, returned_quantity="10", accepted_quantity="10"
        )
    services.return_allowance_check(
        user=flow.people["dispatcher"], return_id=item.pk, returned_quantity="10", accepted_quantity="10"
    )
    with pytest.raises(ApplicationError):
        services.return_allowance_post(user=flow.people["dispatcher"], return_id=item.pk, voucher_number="V")


def test_an_allowance_needs_no_count_but_still_agrees_with_itself(flow, case):
    item = record(flow, case, kind="allowance", slip_quantity="1", unit_price="800", slip_amount="800")
    assert item.status == R.CHECKED and item.amount == Decimal("800.00")


def test_bad_numbers_are_refused_not_floated(flow, case):
    with pytest.raises(ApplicationError):
        record(flow, case, unit_price="abc")
    with pytest.raises(ApplicationError):
        record(flow, case, slip_quantity="-1")
    assert not ReturnAllowance.objects.exists()


def test_affected_receivables_are_flagged_for_the_salesperson(client, flow, case, people):
    record(flow, case, receivable_affected=True, salesperson=people["dispatcher"])
    record(flow, case, invoice_number="INV-OTHER")
    client.force_login(people["accounting"])
    page = client.get(reverse("complaints:receivables"))
    assert page.status_code == 200
    assert "INV-2026-0815" in page.text and "INV-OTHER" not in page.text
    client.force_login(people["dispatcher"])
    assert "INV-2026-0815" in client.get(reverse("complaints:receivables")).text


def test_a_flag_needs_the_salesperson(flow, case):
    with pytest.raises(ApplicationError):
        record(flow, case, receivable_affected=True)


def test_other_costs_add_to_the_loss(flow, case):
    services.case_cost_record(user=flow.people["dispatcher"], case_id=case.pk, description="运费", amount="120.00")
    services.case_cost_record(user=flow.people["dispatcher"], case_id=case.pk, description="差旅", amount="0.10")
    assert case.loss_amount() == Decimal("120.10")


def test_the_mismatch_form_shows_the_refusal_on_the_page(client, flow, case):
    item = record(flow, case)
    services.return_allowance_check(
        user=flow.people["supervisor"], return_id=item.pk, returned_quantity="8", accepted_quantity="8"
    )
    client.force_login(flow.people["accounting"])
    response = client.post(reverse("complaints:return_post", args=[item.pk]), {"voucher_number": "V9"})
    assert response.status_code == 400
    assert ReturnAllowance.objects.get(pk=item.pk).status == R.MISMATCH


def test_improvement_actions_are_proposed_executed_chased_and_confirmed(flow, case, people):
    from django.utils import timezone

    # Manufacturing owns the action once the investigation names it the responsible department.
    case = flow.to(case, "cause_analysis")
    action = services.improvement_action_propose(
        user=people["supervisor"],
        case_id=case.pk,
        proposal="来料全检",
        owner=people["factory"],
        due_on=timezone.localdate(),
    )
    with pytest.raises(ApplicationError):
        services.improvement_action_execute(user=people["supervisor"], action_id=action.pk, execution="x")
    services.improvement_action_follow_up(user=people["gm_office"], action_id=action.pk, note="请于周五前完成")
    services.improvement_action_execute(user=people["factory"], action_id=action.pk, execution="已改为全检")
    with pytest.raises(ApplicationError):
        services.improvement_action_confirm(user=people["factory"], action_id=action.pk, effect="自己确认")
    done = services.improvement_action_confirm(user=people["quality"], action_id=action.pk, effect="三个月零投诉")
    assert done.status == "confirmed" and done.confirmed_by == people["quality"]
