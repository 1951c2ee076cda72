"""Money invariants as properties (DOMAIN 2): Decimal everywhere, never negative, the ledger adds up.

Σ fees collected − Σ refunds = Σ the visits' totals − Σ open balances − Σ write-offs, after any sequence of
fees, part payments, balance collections, corrections and write-offs, refused or not.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repairs import services
from repairs.models import FeeAdjustment, FeeCollection, ServiceVoucher
from repairs.services.fees import FeeAccount, correction_effect
from servicedesk.exceptions import ApplicationError

from .field import call_on_site, png_signature, signed_voucher

CENT = Decimal("0.01")
money = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999999.99"), places=2)


@given(collected=money, refunded=money, written_off=money, total=money, corrected_total=money)
def test_a_corrections_effect_splits_the_change_and_never_leaves_a_negative_balance(
    collected, refunded, written_off, total, corrected_total
):
    refunded = min(refunded, collected)
    written_off = min(written_off, max(total - collected + refunded, Decimal("0")))
    account = FeeAccount(total=total, collected=collected, refunded=refunded, written_off=written_off)
    if account.balance < 0:  # more collected than the total: not a state the services can reach
        return
    effect = correction_effect(account=account, corrected_total=corrected_total)
    assert effect.to_collect - effect.reduced - effect.refund == effect.change == corrected_total - total
    assert min(effect.to_collect, effect.reduced, effect.refund) >= 0
    new_balance = corrected_total - (account.settled - effect.refund)
    assert new_balance >= 0
    assert all(isinstance(v, Decimal) for v in (effect.change, effect.to_collect, effect.reduced, effect.refund))


fraction = st.sampled_from([Decimal("0.01"), Decimal("0.3"), Decimal("0.5"), Decimal("1"), Decimal("1.2")])
operation = st.one_of(
    st.tuples(st.just("fee"), fraction),
    st.tuples(st.just("collect"), fraction),
    st.tuples(st.just("write_off"), fraction),
    st.tuples(st.just("correct"), st.sampled_from([Decimal("0"), Decimal("60"), Decimal("100"), Decimal("333.33")])),
)


def _current(first: ServiceVoucher) -> ServiceVoucher:
    voucher = first
    while True:
        nxt = ServiceVoucher.objects.filter(corrects=voucher).exclude(status=ServiceVoucher.Status.DRAFT).first()
        if nxt is None:
            return ServiceVoucher.objects.get(pk=voucher.pk)  # as stored now
        voucher = nxt


def _apply(op, *, voucher, technician, supervisor):
    kind, value = op
    balance = ServiceVoucher.objects.get(pk=voucher.pk).fee_balance
    amount = max((balance * value).quantize(CENT), CENT)
    if kind == "fee":
        services.fee_collection_record(user=technician, voucher_id=voucher.pk, amount=amount)
    elif kind == "collect":
        services.fee_balance_collect(user=technician, voucher_id=voucher.pk, amount=amount)
    elif kind == "write_off":
        services.fee_balance_write_off(user=supervisor, voucher_id=voucher.pk, reason="Customer moved", amount=amount)
    else:
        draft = services.service_voucher_correct(user=technician, voucher_id=voucher.pk)
        draft = services.service_voucher_update(
            user=technician,
            voucher_id=draft.pk,
            departed_at=draft.departed_at,
            work_done=draft.work_done,
            labour_charge=value,
        )
        services.service_voucher_sign(
            user=technician,
            voucher_id=draft.pk,
            signature_png=png_signature(),
            signed_by_name="王先生",
            fee_difference_reason="Corrected on the phone",
        )


def _sum(qs) -> Decimal:
    return qs.aggregate(s=Sum("amount", default=Decimal("0.00")))["s"]


def _check_invariants(first: ServiceVoucher) -> None:
    current = _current(first)
    fees = FeeCollection.objects.all()
    adjustments = FeeAdjustment.objects.all()
    for row in [*fees, *adjustments]:
        assert isinstance(row.amount, Decimal) and row.amount > 0 and row.amount == row.amount.quantize(CENT)
        assert row.voucher_id == current.pk  # everything follows the visit's current voucher
    assert fees.filter(kind=FeeCollection.Kind.FEE).count() <= 1  # one visit, one fee
    vouchers = ServiceVoucher.objects.filter(call_id=first.call_id)
    assert all(isinstance(v.fee_balance, Decimal) and v.fee_balance >= 0 for v in vouchers)
    assert all(v.fee_balance == 0 for v in vouchers if v.pk != current.pk)
    account = services.fee_account_for(voucher=current)
    assert current.fee_balance == account.balance >= 0
    collected, refunded = _sum(fees), _sum(adjustments.filter(kind=FeeAdjustment.Kind.REFUND))
    written_off = _sum(adjustments.filter(kind=FeeAdjustment.Kind.WRITE_OFF))
    total = current.total_due if current.settlement == ServiceVoucher.Settlement.ON_SITE else Decimal("0.00")
    assert collected - refunded == total - current.fee_balance - written_off


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=6))
def test_the_fee_ledger_always_adds_up(operations, dispatcher, technician, supervisor):
    with transaction.atomic():
        first = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
        for op in operations:
            try:
                with transaction.atomic():
                    _apply(op, voucher=_current(first), technician=technician, supervisor=supervisor)
            except ApplicationError:
                pass  # a refusal changes nothing; the invariants must hold either way
            _check_invariants(first)
        transaction.set_rollback(True)
