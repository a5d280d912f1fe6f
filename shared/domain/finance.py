"""Finance core: double-entry journal entries, the GR/IR clearing account and the three-way match.

Goods arrive before the vendor's invoice does, so a receipt posts Dr inventory / Cr GR/IR at the
purchase-order price, and the invoice later posts Dr GR/IR (at the PO price, clearing what the receipt
put there) / Cr accounts payable (at the invoice price); any difference goes to a price-variance
account. GR/IR then holds exactly "received but not yet invoiced" (credit) or "invoiced but not yet
received" (debit). Every entry is balanced by construction: a `JournalEntry` that is not refuses to exist.

Money is `Decimal` rounded to cents; the variance line absorbs rounding so both sides always agree.

Strategies:
- `finance.journal_entry` is create-only: a posting is never edited, only reversed by another posting,
  so two offline postings both stand and the ledger is their sum.
- `finance.vendor_invoice` is manual: an invoice is what a vendor claims; two people keying it
  differently is for a person to settle, not a machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shared.conflicts import Strategy
from shared.entities import EntitySpec, FieldSpec, register
from shared.errors import ValidationError

CENT = Decimal("0.01")
ZERO = Decimal(0)


def as_decimal(value: Decimal | int | float | str) -> Decimal:
    """A Decimal from JSON-ish input; floats go through str() so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    return Decimal(value)


def money(value: Decimal | int | float | str) -> Decimal:
    return as_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class UnbalancedEntryError(ValidationError):
    """A journal entry whose debits and credits differ; it is never written."""


class MatchError(ValidationError):
    """An invoice line cannot be matched (unknown line, nothing received, bad figures)."""


@dataclass(frozen=True)
class AccountMap:
    """The accounts the operational postings use (configurable per tenant's chart of accounts)."""

    inventory: str = "1400"
    grir: str = "2150"
    payable: str = "2100"
    price_variance: str = "5400"
    consumption: str = "6100"  # parts issued to work orders and cost centres


DEFAULT_ACCOUNTS = AccountMap()


@dataclass(frozen=True)
class PostingLine:
    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    memo: str = ""

    def __post_init__(self) -> None:
        if self.debit < 0 or self.credit < 0:
            raise ValidationError(f"account {self.account}: debit and credit are never negative")
        if self.debit and self.credit:
            raise ValidationError(f"account {self.account}: a line is either a debit or a credit")

    @property
    def net(self) -> Decimal:
        """Debit positive, credit negative."""
        return self.debit - self.credit


@dataclass(frozen=True)
class JournalEntry:
    reference: str
    lines: tuple[PostingLine, ...]
    description: str = ""

    def __post_init__(self) -> None:
        debits = sum((line.debit for line in self.lines), ZERO)
        credits = sum((line.credit for line in self.lines), ZERO)
        if debits != credits:
            raise UnbalancedEntryError(
                f"journal entry {self.reference!r} is not balanced: debits {debits} != credits {credits}"
            )

    @property
    def total(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    def as_payload(self) -> dict[str, object]:
        """The `finance.journal_entry` payload for this entry (amounts as strings: no float drift)."""
        return {
            "reference": self.reference,
            "description": self.description,
            "lines": [
                {"account": ln.account, "debit": str(ln.debit), "credit": str(ln.credit), "memo": ln.memo}
                for ln in self.lines
            ],
        }


def _line(account: str, amount: Decimal, memo: str) -> PostingLine:
    """A debit for a positive amount, a credit for a negative one."""
    return PostingLine(account, debit=amount if amount > 0 else ZERO, credit=-amount if amount < 0 else ZERO, memo=memo)


def balances(entries: Iterable[JournalEntry]) -> dict[str, Decimal]:
    """Net balance per account (debit positive). Their sum is always zero."""
    result: dict[str, Decimal] = {}
    for entry in entries:
        for line in entry.lines:
            result[line.account] = result.get(line.account, ZERO) + line.net
    return result


def receipt_entry(
    reference: str, quantity: Decimal, po_unit_price: Decimal, accounts: AccountMap = DEFAULT_ACCOUNTS
) -> JournalEntry:
    """Goods received against a PO line: Dr inventory / Cr GR/IR at the PO price.
    A negative quantity (a return to vendor) posts the reverse."""
    amount = money(quantity * po_unit_price)
    return JournalEntry(
        reference,
        (_line(accounts.inventory, amount, "goods received"), _line(accounts.grir, -amount, "goods received")),
        description="goods receipt",
    )


def invoice_entry(
    reference: str,
    quantity: Decimal,
    po_unit_price: Decimal,
    invoice_unit_price: Decimal,
    accounts: AccountMap = DEFAULT_ACCOUNTS,
) -> JournalEntry:
    """A matched invoice line: Dr GR/IR at the PO price (clears the receipt), Cr AP at the invoice
    price, and the difference to price variance (Dr when the vendor charged more)."""
    cleared = money(quantity * po_unit_price)
    payable = money(quantity * invoice_unit_price)
    variance = payable - cleared
    lines = [_line(accounts.grir, cleared, "invoice clears GR/IR"), _line(accounts.payable, -payable, "vendor invoice")]
    if variance:
        lines.append(_line(accounts.price_variance, variance, "invoice price variance"))
    return JournalEntry(reference, tuple(ln for ln in lines if ln.net), description="vendor invoice")


def issue_entry(
    reference: str, quantity: Decimal, average_cost: Decimal, accounts: AccountMap = DEFAULT_ACCOUNTS
) -> JournalEntry:
    """Stock issued to a work order or cost centre: Dr consumption / Cr inventory at the moving average."""
    amount = money(quantity * average_cost)
    return JournalEntry(
        reference,
        (_line(accounts.consumption, amount, "stock issued"), _line(accounts.inventory, -amount, "stock issued")),
        description="goods issue",
    )


# --- three-way match -----------------------------------------------------------------------------
class MatchStatus(StrEnum):
    MATCHED = "matched"  # quantities and price agree exactly
    WITHIN_TOLERANCE = "within_tolerance"  # differences inside tolerance: post, variance to its account
    BLOCKED = "blocked"  # outside tolerance: payment is blocked until someone looks


@dataclass(frozen=True)
class MatchTolerance:
    price_pct: Decimal = Decimal("2")  # invoice price may differ from the PO price by this percentage…
    price_abs: Decimal = Decimal("0")  # …or by this amount per unit, whichever is larger
    quantity_pct: Decimal = Decimal("0")  # invoiced beyond received by this percentage


@dataclass(frozen=True)
class MatchResult:
    status: MatchStatus
    reasons: tuple[str, ...] = field(default_factory=tuple)
    price_variance: Decimal = ZERO  # total (invoice - PO) for the invoiced quantity

    @property
    def can_post(self) -> bool:
        return self.status is not MatchStatus.BLOCKED


def three_way_match(
    *,
    ordered_qty: Decimal,
    po_unit_price: Decimal,
    received_qty: Decimal,
    previously_invoiced_qty: Decimal,
    invoice_qty: Decimal,
    invoice_unit_price: Decimal,
    tolerance: MatchTolerance = MatchTolerance(),
) -> MatchResult:
    """Match one invoice line against its PO line and what was received on it.

    Quantity: everything invoiced so far (including this line) must not exceed what was received
    (plus tolerance); invoicing more than was ordered is always blocked. Price: the invoice unit price
    within tolerance of the PO price."""
    if invoice_qty <= 0:
        raise MatchError("an invoice line must have a positive quantity", {"quantity": "must be positive"})
    if invoice_unit_price < 0 or po_unit_price < 0:
        raise MatchError("prices are never negative", {"unit_price": "must not be negative"})
    reasons: list[str] = []
    invoiced_total = previously_invoiced_qty + invoice_qty
    allowed = received_qty * (1 + tolerance.quantity_pct / 100)
    if invoiced_total > ordered_qty:
        reasons.append(f"invoiced {invoiced_total} exceeds ordered {ordered_qty}")
    if invoiced_total > allowed:
        reasons.append(f"invoiced {invoiced_total} exceeds received {received_qty}")
    price_diff = invoice_unit_price - po_unit_price
    limit = max(po_unit_price * tolerance.price_pct / 100, tolerance.price_abs)
    if abs(price_diff) > limit:
        reasons.append(f"unit price {invoice_unit_price} differs from PO price {po_unit_price} beyond tolerance")
    variance = money(invoice_qty * invoice_unit_price) - money(invoice_qty * po_unit_price)
    if reasons:
        return MatchResult(MatchStatus.BLOCKED, tuple(reasons), variance)
    # Under-invoicing is a normal partial invoice; over-invoicing inside tolerance is not exact.
    exact = invoiced_total <= received_qty and not price_diff
    return MatchResult(MatchStatus.MATCHED if exact else MatchStatus.WITHIN_TOLERANCE, (), variance)


def grir_open_amount(entries: Iterable[JournalEntry], accounts: AccountMap = DEFAULT_ACCOUNTS) -> Decimal:
    """What GR/IR still holds: credit (negative) = received not invoiced."""
    return balances(entries).get(accounts.grir, ZERO)


def entry_from_payload(payload: Mapping[str, object]) -> JournalEntry:
    """Rebuild (and re-check the balance of) an entry from its synced payload."""
    raw_lines = payload.get("lines")
    if not isinstance(raw_lines, Sequence):
        raise ValidationError("a journal entry needs lines", {"lines": "must be a list"})
    lines: list[PostingLine] = []
    for raw in raw_lines:
        if not isinstance(raw, Mapping):
            raise ValidationError("each journal line must be an object", {"lines": "must hold objects"})
        lines.append(
            PostingLine(
                str(raw.get("account", "")),
                debit=money(str(raw.get("debit", "0"))),
                credit=money(str(raw.get("credit", "0"))),
                memo=str(raw.get("memo", "")),
            )
        )
    return JournalEntry(str(payload.get("reference", "")), tuple(lines), str(payload.get("description", "")))


JOURNAL_ENTRY = register(
    EntitySpec(
        name="finance.journal_entry",
        strategy=Strategy.SERVER_WINS,
        create_only=True,
        fields={
            "reference": FieldSpec("str", required=True, max_length=128, label="Reference"),
            "description": FieldSpec("str", max_length=400, label="Description"),
            "posted_on": FieldSpec("date", label="Posting date"),
            "lines": FieldSpec("list", required=True, label="Lines"),
            "source_entity": FieldSpec("str", max_length=64),
            "source_id": FieldSpec("str", max_length=128),
        },
    )
)

VENDOR_INVOICE = register(
    EntitySpec(
        name="finance.vendor_invoice",
        strategy=Strategy.MANUAL,
        fields={
            "vendor_id": FieldSpec("str", required=True, label="Vendor"),
            "invoice_no": FieldSpec("str", required=True, max_length=64, label="Invoice number"),
            "po_id": FieldSpec("str", required=True, label="Purchase order"),
            "invoice_date": FieldSpec("date", label="Invoice date"),
            "currency": FieldSpec("str", max_length=3, label="Currency"),
            "lines": FieldSpec("list", required=True, label="Lines (po_line_id, quantity, unit_price)"),
            "status": FieldSpec("str", choices=("entered", "matched", "blocked", "posted", "paid"), label="Status"),
        },
    )
)

# A site office's petty-cash float: cash paid out and topped up at two desks offline both count, so the
# balance moves only by deltas (the adjustment strategy), never by overwrite.
CASH_FLOAT = register(
    EntitySpec(
        name="finance.cash_float",
        strategy=Strategy.ADJUSTMENT,
        adjustable=frozenset({"balance"}),
        fields={
            "custodian": FieldSpec("str", required=True, max_length=128, label="Custodian"),
            "currency": FieldSpec("str", max_length=3, label="Currency"),
            "balance": FieldSpec("number", label="Balance"),
        },
    )
)
