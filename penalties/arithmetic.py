"""The money arithmetic of a ruling: pure functions on Decimal, never float.

Definitions (what the services, the notice and the ledger all rely on):

- **Rounding.** Every amount is quantized to the fen (0.01 yuan) with ROUND_HALF_UP: half a fen
  rounds away from zero (12.345 → 12.35, −12.345 → −12.35). Only final amounts are rounded;
  products and shares are computed exactly first.
- **Share of the loss.** A party's share of the loss is ``loss × share% / 100``. The parties'
  shares of the loss always add up to the loss exactly: each is first rounded down to the fen,
  and the fen left over go one each to the parties with the largest remainders (ties: the
  earlier line). With one party (personal negligence) the whole loss is that party's.
- **Criteria row.** The row used for a party is the row of the criteria version in force on the
  case's date whose loss bracket (``loss_from`` ≤ share < ``loss_to``) contains the party's share
  of the loss, taken from the rows of the case's cause category if it has any, else from the
  rows without a cause category.
- **Deduction.** A party's deduction is the row's ``base_units × amount_per_unit`` (after any
  adjustment by the GM office), rounded to the fen. It is a penalty chosen by the party's share
  of the loss, not a recovery of that share: the standard fixes at least 800 yuan per base unit
  for a minor demerit whatever the loss. A ruling's total deduction is the sum of its lines.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
HUNDRED = Decimal("100")
ZERO = Decimal("0.00")


def to_fen(amount: Decimal) -> Decimal:
    """Round to the fen, half a fen away from zero (ROUND_HALF_UP)."""
    return Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)


def deduction_for(*, base_units: Decimal, amount_per_unit: Decimal) -> Decimal:
    """base units × amount per unit, rounded to the fen (ROUND_HALF_UP)."""
    return to_fen(Decimal(base_units) * Decimal(amount_per_unit))


def shares_total(shares: Iterable[Decimal]) -> Decimal:
    return sum((Decimal(s) for s in shares), Decimal("0"))


def shares_problem(shares: Sequence[Decimal]) -> str | None:
    """Why these percentages are not a valid split (None if they are): each > 0 to the hundredth, total 100."""
    if not shares:
        return "empty"
    for share in shares:
        share = Decimal(share)
        if share <= 0 or share > HUNDRED:
            return "range"
        if share != share.quantize(FEN):
            return "precision"
    if shares_total(shares) != HUNDRED:
        return "total"
    return None


def split_loss(*, loss: Decimal, shares: Sequence[Decimal]) -> list[Decimal]:
    """Each party's share of ``loss`` to the fen, adding up to ``loss`` exactly (largest remainders).

    ``shares`` are percentages adding up to 100; ``loss`` is in yuan to the fen and not negative.
    """
    loss = to_fen(loss)
    if loss < 0:
        raise ValueError("a loss is not negative")
    if shares_problem(shares) is not None:
        raise ValueError("shares must be positive percentages to the hundredth adding up to 100")
    exact = [loss * Decimal(share) / HUNDRED for share in shares]
    floored = [value.quantize(FEN, rounding=ROUND_DOWN) for value in exact]
    left_over = int((loss - sum(floored, ZERO)) / FEN)
    # The remainders decide who gets the left-over fen; earlier lines win ties.
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - floored[i]), i))
    for i in order[:left_over]:
        floored[i] += FEN
    return floored


@dataclass(frozen=True)
class RowFacts:
    """The parts of a criteria row the choice needs (a model row or a test's stand-in)."""

    pk: int
    cause_category_id: int | None
    loss_from: Decimal
    loss_to: Decimal | None


def choose_row(rows: Sequence, *, cause_category_id: int | None, loss: Decimal):
    """The row for this cause and this share of the loss, or None if the version has no such row.

    The cause's own rows win over the rows for any cause; within them the bracket decides.
    """
    own = [r for r in rows if cause_category_id is not None and r.cause_category_id == cause_category_id]
    candidates = own or [r for r in rows if r.cause_category_id is None]
    matching = [r for r in candidates if r.loss_from <= loss and (r.loss_to is None or loss < r.loss_to)]
    if not matching:
        return None
    # Overlapping brackets are refused when the table is kept; should one slip in, the narrowest wins.
    return min(matching, key=lambda r: (-r.loss_from, r.pk))
