"""Finance primitives (money in cents) and the synced finance entities.

The general ledger's rules live in their own modules: `accounts` (chart of accounts, dimensions),
`journal` (balanced entries), `periods` (period close), `ledger` (posting, idempotency, reversal),
`postings` (entries from operations), `costing` (moving average), `matching` (three-way match),
`depreciation`, `trial_balance`; errors in `finance_errors`. docs/finance.md describes them.

Rounding rule: money is `Decimal` rounded to the cent, half up (0.005 → 0.01), once, where a quantity times a
price becomes money; amounts already in cents are added and subtracted exactly and never re-rounded.

`receipt_entry`, `invoice_entry` and `JournalEntry` below are the older synced-payload form of a posting,
still produced by the demo seed; the hub step replaces them with `postings` + `ledger`.

Strategies:
- `finance.journal_entry` is create-only: a posting is never edited, only reversed by another posting,
  so two offline postings both stand and the ledger is their sum.
- `finance.vendor_invoice`, `finance.payment` (payables), `finance.customer_invoice`, `finance.customer_receipt`
  (receivables) and `finance.asset` (assets) are declared in their own modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.conflicts import Strategy
from shared.domain.finance_errors import UnbalancedEntryError
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


@dataclass(frozen=True)
class LedgerAccounts:
    """Every account a posting rule posts to (postings, stock_postings, payables, receivables, assets), and the
    equity account the opening balances use. The hub requires a tenant's chart to keep all but equity as posting
    accounts (hub/finance/chart.py `posting_accounts`): a rule posting to an account not named here is a bug."""

    bank: str = "1100"
    receivable: str = "1200"
    inventory: str = "1400"
    fixed_assets: str = "1500"
    accumulated_depreciation: str = "1590"
    payable: str = "2100"
    grir: str = "2150"
    equity: str = "3100"
    rental_income: str = "4100"
    price_variance: str = "5400"
    consumption: str = "6100"  # parts issued to work orders and cost centres
    depreciation: str = "6500"
    disposal: str = "4900"  # gain (credit) or loss (debit) on disposal of plant (assets.disposal_entries)
    transit: str = "1450"  # stock shipped between stores, not yet received (stock_postings)
    stock_adjustment: str = "5500"  # counts and losses at moving average (stock_postings)


DEFAULT_ACCOUNTS = LedgerAccounts()


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
    reference: str, quantity: Decimal, po_unit_price: Decimal, accounts: LedgerAccounts = DEFAULT_ACCOUNTS
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
    accounts: LedgerAccounts = DEFAULT_ACCOUNTS,
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
