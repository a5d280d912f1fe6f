"""Stock movements to ledger entries at moving average: what the hub posts for each `inventory.movement`, as pure
functions, so a serial replay (tests, a desktop's preview) computes the same entries from the same movements.

| movement               | debit                                      | credit                             |
|------------------------|--------------------------------------------|------------------------------------|
| receipt (PO line)      | 1400 inventory at the PO price             | 2150 GR/IR (postings.goods_receipt) |
| issue                  | 6100 consumed (site, cost centre, machine) | 1400 at moving average              |
| transfer out           | 1450 stock in transit (at average)         | 1400 of the shipping store          |
| transfer in            | 1400 of the receiving store                | 1450 at the value that was shipped  |
| count adjustment (+/-) | 1400 / 5500 stock adjustments (D34)        | 5500 / 1400 at moving average       |

Each movement moves its store×item `StockPosition` (costing.py) and the amount it puts into or takes out of 1400
is exactly the position's change in value, so 1400 equals the sum of the positions' values to the cent.
Keys: one entry per movement id (`goods_receipt:<id>`, `goods_issue:<id>`, `stock_transfer_out:<id>`,
`stock_transfer_in:<id>`, `stock_count:<id>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.domain import postings
from shared.domain.accounts import Account, AccountType, Dimension, dims
from shared.domain.costing import Costed, StockPosition, issue, receive
from shared.domain.finance import ZERO, money
from shared.domain.inventory import MovementKind
from shared.domain.journal import LedgerEntry, LedgerLine, credit, debit, line

INVENTORY = postings.ACCOUNTS.inventory
TRANSIT = postings.ACCOUNTS.transit
ADJUSTMENT = postings.ACCOUNTS.stock_adjustment
# An issue's cost centre when the row names none (D36): a work-order issue is maintenance's, others unallocated.
WORK_ORDER_COST_CENTRE = "maintenance"
UNALLOCATED_COST_CENTRE = "unallocated"


def default_accounts() -> list[Account]:
    """The chart a tenant without its own account records posts against: the standard chart and the two stock
    accounts the movement rules add."""
    site = frozenset({Dimension.SITE})
    return [*postings.standard_chart({}).accounts.values(),
            Account(TRANSIT, "Stock in transit", AccountType.ASSET, parent="1000", required=site),
            Account(ADJUSTMENT, "Stock adjustments (counts, losses)", AccountType.EXPENSE, parent="5000",
                    required=site)]


def receive_value(position: StockPosition, quantity: Decimal, amount: Decimal) -> Costed:
    """A receipt whose value is given in cents (a transfer in brings what left the other store, not qty × a
    rounded unit cost). Into negative stock it revalues like `costing.receive`."""
    if position.quantity >= 0:
        return Costed(StockPosition(position.quantity + quantity, position.value + amount, amount / quantity),
                      amount)
    costed = receive(position, quantity, amount / quantity)
    return Costed(costed.position, amount, costed.position.value - position.value - amount)


@dataclass(frozen=True)
class StockMove:
    """One movement as the costing sees it: `unit_cost` is the PO price of a receipt (or the row's own cost),
    `value` the shipped value a transfer in brings (None: the row's quantity × unit_cost)."""

    kind: MovementKind
    quantity: Decimal  # signed for a count adjustment, positive otherwise
    unit_cost: Decimal = ZERO
    value: Decimal | None = None


def cost(position: StockPosition, move: StockMove) -> Costed:
    """The position after one movement and its amount (into or out of inventory; for a count the signed
    change)."""
    if move.kind is MovementKind.RECEIPT:
        return receive(position, move.quantity, move.unit_cost)
    if move.kind in (MovementKind.ISSUE, MovementKind.TRANSFER_OUT):
        return issue(position, move.quantity)
    if move.kind is MovementKind.TRANSFER_IN:
        value = move.value if move.value is not None else money(move.quantity * move.unit_cost)
        return receive_value(position, move.quantity, value)
    if move.quantity < 0:
        out = issue(position, -move.quantity)
        return Costed(out.position, -out.amount)
    found = receive(position, move.quantity, position.average_cost)
    return Costed(StockPosition(found.position.quantity, found.position.value, position.last_cost),
                  found.position.value - position.value)


def transfer_out(movement_id: str, posting_date: date, amount: Decimal, site: str, transfer_id: str,
                 memo: str = "") -> LedgerEntry | None:
    if not amount:
        return None
    d = dims(site=site)
    note = memo or f"shipped on transfer {transfer_id}"
    return LedgerEntry(f"stock_transfer_out:{movement_id}", posting_date,
                       (debit(TRANSIT, amount, d, note), credit(INVENTORY, amount, d, note)), "transfer shipped")


def transfer_in(movement_id: str, posting_date: date, costed: Costed, site: str, transit_site: str,
                transfer_id: str, memo: str = "") -> LedgerEntry | None:
    """Dr inventory at the receiving store / Cr transit at the shipped value; a receipt into negative stock
    revalues the units issued short against price variance, as a goods receipt does."""
    d, note = dims(site=site), memo or f"received on transfer {transfer_id}"
    lines: list[LedgerLine] = []
    if costed.amount:
        lines += [debit(INVENTORY, costed.amount, d, note), credit(TRANSIT, costed.amount, dims(site=transit_site),
                                                                   note)]
    if costed.revaluation:
        lines += [line(INVENTORY, costed.revaluation, d, "stock issued short, revalued at transfer value"),
                  line(postings.ACCOUNTS.price_variance, -costed.revaluation, d,
                       "stock issued short, revalued at transfer value")]
    return LedgerEntry(f"stock_transfer_in:{movement_id}", posting_date, tuple(lines),
                       "transfer received") if lines else None


def count_adjustment(movement_id: str, posting_date: date, change: Decimal, site: str, memo: str = ""
                     ) -> LedgerEntry | None:
    """Found stock: Dr inventory / Cr stock adjustments; missing stock the other way (D34)."""
    if not change:
        return None
    d, note = dims(site=site), memo or ("stock found at count" if change > 0 else "stock missing at count")
    return LedgerEntry(f"stock_count:{movement_id}", posting_date,
                       (line(INVENTORY, change, d, note), line(ADJUSTMENT, -change, d, note)), "stock count")


def receipt(movement_id: str, posting_date: date, quantity: Decimal, costed: Costed, unit_cost: Decimal,
            site: str) -> LedgerEntry | None:
    if not costed.amount and not costed.revaluation:
        return None  # free goods into stock that was not short: quantity moves, no value
    return postings.goods_receipt(movement_id, posting_date, quantity, unit_cost, site, costed.revaluation)


def issue_entry(movement_id: str, posting_date: date, costed: Costed, site: str, cost_centre: str | None,
                equipment: str | None, work_order: str | None) -> LedgerEntry | None:
    if not costed.amount:
        return None  # an item never received and never costed: quantity moves, no value to take out
    centre = cost_centre or (WORK_ORDER_COST_CENTRE if work_order else UNALLOCATED_COST_CENTRE)
    return postings.goods_issue(movement_id, posting_date, costed.amount, site, centre, equipment,
                                work_order if equipment else None)


def with_memo(entry: LedgerEntry | None, memo: str) -> LedgerEntry | None:
    """The entry with a note added to every line (a posting moved out of a closed period says so)."""
    if entry is None or not memo:
        return entry
    return LedgerEntry(entry.key, entry.posting_date,
                       tuple(LedgerLine(ln.account, ln.debit, ln.credit, ln.dimensions,
                                        f"{ln.memo}; {memo}" if ln.memo else memo) for ln in entry.lines),
                       entry.description, entry.reverses)


def with_date(entry: LedgerEntry | None, posting_date: date) -> LedgerEntry | None:
    if entry is None:
        return None
    return LedgerEntry(entry.key, posting_date, entry.lines, entry.description, entry.reverses)
