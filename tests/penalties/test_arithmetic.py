"""Property-based: shares add up to 100 %, shares of the loss to the loss, deductions to the sum of the lines.

Money is Decimal throughout; amounts are rounded to the fen (0.01 yuan) with ROUND_HALF_UP.
"""

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints.models import CauseCategory
from penalties import arithmetic, services
from penalties.arithmetic import FEN, RowFacts, choose_row, deduction_for, split_loss, to_fen
from penalties.models import CriteriaRow, CriteriaVersion, PenaltyKind, PenaltyRuling
from penalties.services import ShareInput
from tests.factories import UserFactory

from .conftest import make_ruled_case

_examples = itertools.count(1)
money = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999999.99"), places=2)
units = st.decimals(min_value=Decimal("0"), max_value=Decimal("9999.99"), places=2)


@st.composite
def shares_of_100(draw, max_parties=8):
    """Percentages to the hundredth, each above zero, adding up to exactly 100."""
    n = draw(st.integers(min_value=1, max_value=max_parties))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=9999), min_size=n - 1, max_size=n - 1)))
    bounds = [0, *cuts, 10000]
    return [Decimal(b - a) / 100 for a, b in itertools.pairwise(bounds)]


def test_rounding_is_half_up_to_the_fen():
    assert to_fen(Decimal("12.345")) == Decimal("12.35")
    assert to_fen(Decimal("12.344999")) == Decimal("12.34")
    assert to_fen(Decimal("-12.345")) == Decimal("-12.35")
    assert to_fen(Decimal("0.005")) == Decimal("0.01")
    assert deduction_for(base_units=Decimal("1.5"), amount_per_unit=Decimal("833.33")) == Decimal("1250.00")
    assert deduction_for(base_units=Decimal("0.33"), amount_per_unit=Decimal("800.05")) == Decimal("264.02")


@given(shares=shares_of_100())
def test_generated_shares_are_a_valid_split(shares):
    assert arithmetic.shares_total(shares) == Decimal("100")
    assert arithmetic.shares_problem(shares) is None


@given(shares=shares_of_100(), loss=money)
def test_the_shares_of_the_loss_add_up_to_the_loss_exactly(shares, loss):
    parts = split_loss(loss=loss, shares=shares)
    assert sum(parts, Decimal("0")) == loss
    for part, share in zip(parts, shares, strict=True):
        assert part == part.quantize(FEN)
        # Each part is within one fen of its exact share.
        assert abs(part - loss * share / 100) < FEN


@given(shares=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2), min_size=1))
def test_shares_not_adding_up_to_100_are_refused(shares):
    if arithmetic.shares_total(shares) != 100:
        assert arithmetic.shares_problem(shares) == "total"
        with pytest.raises(ValueError):
            split_loss(loss=Decimal("100"), shares=shares)


@given(base_units=units, per_unit=money)
def test_a_deduction_is_the_product_rounded_half_up_to_the_fen(base_units, per_unit):
    deduction = deduction_for(base_units=base_units, amount_per_unit=per_unit)
    exact = base_units * per_unit
    assert deduction == deduction.quantize(FEN)
    assert abs(deduction - exact) <= Decimal("0.005")
    assert deduction - exact != Decimal("-0.005")  # half a fen rounds up, never down


def test_a_cause_s_own_rows_win_over_the_rows_for_any_cause():
    rows = [
        RowFacts(pk=1, cause_category_id=None, loss_from=Decimal("0"), loss_to=None),
        RowFacts(pk=2, cause_category_id=7, loss_from=Decimal("0"), loss_to=Decimal("1000")),
        RowFacts(pk=3, cause_category_id=7, loss_from=Decimal("1000"), loss_to=None),
    ]
    assert choose_row(rows, cause_category_id=7, loss=Decimal("999.99")).pk == 2
    assert choose_row(rows, cause_category_id=7, loss=Decimal("1000")).pk == 3
    assert choose_row(rows, cause_category_id=8, loss=Decimal("5")).pk == 1
    assert choose_row(rows[1:], cause_category_id=8, loss=Decimal("5")) is None


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shares=shares_of_100(max_parties=5),
    loss=st.decimals(min_value=Decimal("0"), max_value=Decimal("9999999.99"), places=2),
    per_unit=st.lists(
        st.decimals(min_value=Decimal("800"), max_value=Decimal("5000"), places=2), min_size=3, max_size=3
    ),
    base_units=st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10"), places=2), min_size=3, max_size=3
    ),
)
def test_a_proposed_rulings_total_is_the_sum_of_its_lines_for_any_inputs(
    unit, gm_office, shares, loss, per_unit, base_units
):
    """Shares, loss and a three-bracket table drawn at random; the ruling's figures always add up."""
    minor = PenaltyKind.objects.get(code="minor_demerit")
    version = CriteriaVersion.objects.order_by("-effective_from").first()
    # Each example has a cause of its own, whose rows win over the standard's row for any cause.
    cause = CauseCategory.objects.create(code=f"drawn-{next(_examples)}", name="Drawn")
    brackets = [(Decimal("0"), Decimal("1000")), (Decimal("1000"), Decimal("100000")), (Decimal("100000"), None)]
    for (low, high), amount, n in zip(brackets, per_unit, base_units, strict=True):
        CriteriaRow.objects.create(
            version=version,
            cause_category=cause,
            loss_from=low,
            loss_to=high,
            penalty_kind=minor,
            amount_per_unit=amount,
            base_units=n,
        )
    people = [UserFactory(unit=unit) for _ in shares]
    case = make_ruled_case(unit=unit, responsible_person=people[0], costs=[str(loss)], cause=cause.code)
    ruling = services.ruling_open(user=gm_office, case_id=case.pk)
    services.ruling_set_shares(
        user=gm_office,
        ruling_id=ruling.pk,
        shares=[ShareInput(share, person=person) for share, person in zip(shares, people, strict=True)],
    )
    ruling = services.ruling_propose(user=gm_office, ruling_id=ruling.pk)
    lines = list(ruling.lines.all())
    assert ruling.shares_total == Decimal("100")
    assert sum((line.share_percent for line in lines), Decimal("0")) == Decimal("100")
    assert sum((line.loss_share for line in lines), Decimal("0")) == loss
    assert ruling.total_deduction == sum((line.deduction for line in lines), Decimal("0"))
    for line in lines:
        row = line.criteria_row
        assert row.matches(line.loss_share)
        assert line.deduction == to_fen(row.base_units * row.amount_per_unit)
    assert PenaltyRuling.objects.get(pk=ruling.pk).total_deduction == ruling.total_deduction
