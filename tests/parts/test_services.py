"""Stock rules: received, issued, returned, used, counted; never negative; the message when a van lacks a part."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parts import services
from parts.models import Part, Stock, StockMovement
from servicedesk.exceptions import ApplicationError


def qty(part, *, unit=None, technician=None):
    rows = Stock.objects.filter(part=part)
    rows = rows.filter(technician=technician) if technician else rows.filter(unit=unit, technician__isnull=True)
    row = rows.first()
    return row.quantity if row else 0


def use(user, technician, part, n, ref_id=1):
    return services.part_use(
        user=user,
        technician_id=technician.pk,
        lines=[services.UseLine(part_id=part.pk, quantity=n)],
        reference_kind=StockMovement.Reference.VOUCHER,
        reference_id=ref_id,
        reference_text="SV-2026-000001",
    )


def test_received_parts_are_in_the_store_and_the_movement_says_who(dispatcher, unit, part):
    movement = services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=5)
    assert qty(part, unit=unit) == 5
    assert movement.kind == StockMovement.Kind.RECEIVED and movement.by == dispatcher and movement.difference == 5


def test_issue_moves_parts_from_the_store_to_the_van(dispatcher, technician, unit, part):
    services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=5)
    services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=3)
    assert qty(part, unit=unit) == 2
    assert qty(part, technician=technician) == 3


def test_issue_of_more_than_the_store_holds_is_refused(dispatcher, technician, unit, part):
    services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=1)
    with pytest.raises(ApplicationError, match="The store holds only 1 of part FU-220"):
        services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=2)
    assert qty(part, unit=unit) == 1 and qty(part, technician=technician) == 0


def test_return_puts_parts_back_in_the_store(dispatcher, technician, unit, part):
    services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=4)
    services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=4)
    services.part_return(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=1)
    assert qty(part, unit=unit) == 1 and qty(part, technician=technician) == 3
    with pytest.raises(ApplicationError, match="does not hold 4 of part FU-220: the van has 3"):
        services.part_return(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=4)


def test_using_a_part_the_technician_does_not_hold_is_refused_with_a_clear_message(technician, part):
    with pytest.raises(ApplicationError) as refused:
        use(technician, technician, part, 2)
    assert refused.value.message == "You do not hold 2 of part FU-220: your van has 0."
    assert not StockMovement.objects.exists()


def test_use_takes_the_parts_from_the_van_and_names_the_voucher(dispatcher, technician, unit, part):
    services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=2)
    services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=2)
    [movement] = use(technician, technician, part, 2, ref_id=77)
    assert qty(part, technician=technician) == 0
    assert (movement.kind, movement.reference_kind, movement.reference_id, movement.reference_text) == (
        "used",
        "voucher",
        77,
        "SV-2026-000001",
    )


def test_use_of_several_parts_is_all_or_nothing(dispatcher, technician, unit, part, consumable):
    services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=2)
    services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=2)
    with pytest.raises(ApplicationError, match="TN-10"):
        services.part_use(
            user=technician,
            technician_id=technician.pk,
            lines=[services.UseLine(part.pk, 1), services.UseLine(consumable.pk, 1)],
            reference_kind="voucher",
            reference_id=1,
        )
    assert qty(part, technician=technician) == 2


def test_a_negative_use_line_gives_parts_back_to_the_van(dispatcher, technician, unit, part):
    services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=2)
    services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=2)
    use(technician, technician, part, 2)
    [movement] = use(technician, technician, part, -1)
    assert movement.kind == StockMovement.Kind.USE_UNDONE
    assert qty(part, technician=technician) == 1


def test_a_count_sets_the_quantity_and_records_the_difference_and_reason(supervisor, unit, part):
    services.part_stock_receive(user=supervisor, unit_id=unit.pk, part_id=part.pk, quantity=10)
    movement = services.part_stock_count(
        user=supervisor, unit_id=unit.pk, part_id=part.pk, counted_quantity=7, reason="Three broken in transport"
    )
    assert qty(part, unit=unit) == 7
    assert (movement.quantity, movement.difference, movement.reason) == (7, -3, "Three broken in transport")


def test_a_count_needs_a_reason(supervisor, unit, part):
    with pytest.raises(ApplicationError, match="Give the reason"):
        services.part_stock_count(user=supervisor, unit_id=unit.pk, part_id=part.pk, counted_quantity=1, reason=" ")


def test_a_technician_cannot_move_store_stock(technician, unit, part):
    with pytest.raises(ApplicationError, match="may not move parts"):
        services.part_stock_receive(user=technician, unit_id=unit.pk, part_id=part.pk, quantity=1)


def test_a_clerk_cannot_move_another_units_stock(other_dispatcher, unit, technician, part):
    with pytest.raises(ApplicationError, match="may not move parts"):
        services.part_stock_receive(user=other_dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=1)
    with pytest.raises(ApplicationError, match="may not move parts"):
        services.part_issue_to_technician(
            user=other_dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=1
        )


def test_a_clerk_cannot_issue_to_a_technician_of_another_unit(dispatcher, unit, other_technician, part):
    services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=1)
    with pytest.raises(ApplicationError):
        services.part_issue_to_technician(
            user=dispatcher, technician_id=other_technician.pk, part_id=part.pk, quantity=1
        )
    assert qty(part, unit=unit) == 1


@pytest.mark.parametrize("bad", [0, -1, 100_001, True, 1.5])
def test_quantities_must_be_whole_positive_numbers(dispatcher, unit, part, bad):
    with pytest.raises(ApplicationError):
        services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=bad)


def test_the_database_refuses_a_negative_quantity(unit, part):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.create(part=part, unit=unit, quantity=-1)


# --- Prices ---------------------------------------------------------------------------------------------


def test_the_catalogue_price_is_taken_when_none_is_given(technician, unit, part):
    assert services.part_price_checked(user=technician, part=part, unit_id=unit.pk, unit_price=None) == part.unit_price


def test_only_a_supervisor_may_change_a_catalogue_price(technician, unit, part):
    with pytest.raises(ApplicationError, match="only a supervisor may change it"):
        services.part_price_checked(user=technician, part=part, unit_id=unit.pk, unit_price=Decimal("49.00"))


def test_a_supervisor_changes_a_price_within_the_tolerance_only(supervisor, unit, part):
    assert services.part_price_checked(
        user=supervisor, part=part, unit_id=unit.pk, unit_price=Decimal("45.00")
    ) == Decimal("45.00")
    with pytest.raises(ApplicationError, match="at most 10 %"):
        services.part_price_checked(user=supervisor, part=part, unit_id=unit.pk, unit_price=Decimal("44.99"))


def test_the_tolerance_is_data_per_unit(supervisor, unit, part):
    from parts.models import PriceTolerance

    PriceTolerance.objects.create(unit=None, percent=Decimal("5"))
    with pytest.raises(ApplicationError, match="at most 5 %"):
        services.part_price_checked(user=supervisor, part=part, unit_id=unit.pk, unit_price=Decimal("47.00"))
    PriceTolerance.objects.create(unit=unit, percent=Decimal("20"))
    assert services.part_price_checked(user=supervisor, part=part, unit_id=unit.pk, unit_price=Decimal("41.00"))


# --- Property: random movement sequences never leave a negative quantity ----------------------------------

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["receive", "issue", "return", "use", "count_store", "count_van"]),
        st.integers(min_value=-3, max_value=12),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_random_movement_sequences_never_make_stock_negative_and_the_ledger_adds_up(
    actions, dispatcher, technician, unit, part
):
    from django.db import transaction

    with transaction.atomic():
        expected_store, expected_van = 0, 0
        for action, n in actions:
            try:
                with transaction.atomic():
                    if action == "receive":
                        services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=n)
                        expected_store += n
                    elif action == "issue":
                        services.part_issue_to_technician(
                            user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=n
                        )
                        expected_store, expected_van = expected_store - n, expected_van + n
                    elif action == "return":
                        services.part_return(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=n)
                        expected_store, expected_van = expected_store + n, expected_van - n
                    elif action == "use":
                        use(technician, technician, part, n)
                        expected_van -= n
                    elif action == "count_store":
                        services.part_stock_count(
                            user=dispatcher, unit_id=unit.pk, part_id=part.pk, counted_quantity=n, reason="count"
                        )
                        expected_store = n
                    else:
                        services.part_stock_count(
                            user=dispatcher,
                            unit_id=unit.pk,
                            part_id=part.pk,
                            technician_id=technician.pk,
                            counted_quantity=n,
                            reason="count",
                        )
                        expected_van = n
            except ApplicationError:
                pass  # refused: nothing changed
            store, van = qty(part, unit=unit), qty(part, technician=technician)
            assert store >= 0 and van >= 0
            assert (store, van) == (expected_store, expected_van)
        # Every change is a movement: the store's and the van's differences add up to what they hold.
        movements = StockMovement.objects.filter(part=part)
        store_sum = (
            sum(m.difference if m.kind in ("received", "counted") and m.technician_id is None else 0 for m in movements)
            - sum(m.difference for m in movements if m.kind == "issued")
            + sum(-m.difference for m in movements if m.kind == "returned")
        )
        van_sum = sum(m.difference for m in movements if m.technician_id is not None and m.kind != "returned") + sum(
            m.difference for m in movements if m.kind == "returned"
        )
        assert (store_sum, van_sum) == (store, van)
        transaction.set_rollback(True)


def test_part_numbers_are_unique(part):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Part.objects.create(part_number="FU-220", name="Copy", unit_price=Decimal("1"))
