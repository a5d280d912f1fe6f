"""Journal lines and entries: balanced double entry in cents, refused at construction when not balanced.

An entry is keyed by its idempotency key, one per source document line (`goods_receipt:<movement id>`,
`vendor_invoice:<invoice id>:<line>`): posting the same key again is a no-op, never a second posting.
An entry is never edited; a mistake is undone by a reversal, a new entry with the mirrored lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.domain.accounts import Dimensions, dimensions_from
from shared.domain.finance import ZERO, as_decimal, money
from shared.domain.finance_errors import FinanceError, UnbalancedEntryError
from shared.domain.periods import Period


@dataclass(frozen=True)
class LedgerLine:
    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    dimensions: Dimensions = ()
    memo: str = ""

    def __post_init__(self) -> None:
        if self.debit < 0 or self.credit < 0:
            raise FinanceError(f"account {self.account}: an amount is never negative; a credit is written as a "
                               "credit, not as a negative debit", {"amount": "must not be negative"})
        if self.debit and self.credit:
            raise FinanceError(f"account {self.account}: a line is either a debit or a credit, not both",
                               {"amount": "debit or credit"})
        if not self.debit and not self.credit:
            raise FinanceError(f"account {self.account}: a line of 0.00 posts nothing; leave it out",
                               {"amount": "must not be zero"})
        for amount in (self.debit, self.credit):
            if amount != money(amount):
                raise FinanceError(f"account {self.account}: {amount} has fractions of a cent; amounts are posted "
                                   "in cents, rounded where quantity × price becomes money",
                                   {"amount": "whole cents only"})
        # Normalised so two lines with the same dimensions compare equal whatever order they were given in; a
        # blank value is no value, so a required dimension left blank is reported missing, not unknown.
        carried = {d: v for d, v in self.dimensions if v.strip()}
        if len(carried) != len([d for d, v in self.dimensions if v.strip()]):
            raise FinanceError(f"account {self.account}: a line carries each dimension once",
                               {"dimensions": "dimension given twice"})
        object.__setattr__(self, "dimensions", tuple(sorted(carried.items())))

    @property
    def net(self) -> Decimal:
        """Debit positive, credit negative."""
        return self.debit - self.credit

    def mirrored(self) -> LedgerLine:
        return LedgerLine(self.account, self.credit, self.debit, self.dimensions, self.memo)


def line(account: str, amount: Decimal, dimensions: Dimensions = (), memo: str = "") -> LedgerLine:
    """A debit for a positive amount, a credit for a negative one (the amount is already in cents)."""
    return LedgerLine(account, debit=max(amount, ZERO), credit=max(-amount, ZERO), dimensions=dimensions, memo=memo)


def debit(account: str, amount: Decimal, dimensions: Dimensions = (), memo: str = "") -> LedgerLine:
    return LedgerLine(account, debit=amount, dimensions=dimensions, memo=memo)


def credit(account: str, amount: Decimal, dimensions: Dimensions = (), memo: str = "") -> LedgerLine:
    return LedgerLine(account, credit=amount, dimensions=dimensions, memo=memo)


@dataclass(frozen=True)
class LedgerEntry:
    key: str  # idempotency key: one per source document line
    posting_date: date
    lines: tuple[LedgerLine, ...]
    description: str = ""
    reverses: str | None = None  # the key of the entry this one reverses

    def __post_init__(self) -> None:
        if not self.key.strip():
            raise FinanceError("a journal entry needs its source key (e.g. goods_receipt:<movement id>) so a "
                               "replay cannot post it twice", {"key": "is required"})
        if len(self.lines) < 2:
            raise UnbalancedEntryError(f"journal entry {self.key!r} needs at least one debit and one credit line",
                                       {"lines": "at least two lines"})
        debits = sum((ln.debit for ln in self.lines), ZERO)
        credits = sum((ln.credit for ln in self.lines), ZERO)
        if debits != credits:
            side = "debits" if debits > credits else "credits"
            raise UnbalancedEntryError(
                f"journal entry {self.key!r} is not balanced: debits {debits} ≠ credits {credits} "
                f"({side} exceed by {abs(debits - credits)}); nothing was posted",
                {"lines": "debits must equal credits"},
            )

    @property
    def period(self) -> Period:
        return Period.of(self.posting_date)

    @property
    def total(self) -> Decimal:
        return sum((ln.debit for ln in self.lines), ZERO)

    def reversal(self, key: str, posting_date: date, description: str = "") -> LedgerEntry:
        """The entry that undoes this one: every line mirrored, dated when the reversal is posted."""
        return LedgerEntry(key, posting_date, tuple(ln.mirrored() for ln in self.lines),
                           description or f"reversal of {self.key}", reverses=self.key)


def entry_lines(entries: Iterable[LedgerEntry]) -> Iterable[LedgerLine]:
    for entry in entries:
        yield from entry.lines



# --- the entry as it travels (a mutation payload, a hub API body) -----------------------------------
def entry_payload(entry: LedgerEntry) -> dict[str, object]:
    """Amounts as strings so no float ever touches them."""
    return {
        "key": entry.key, "posting_date": entry.posting_date.isoformat(), "description": entry.description,
        "reverses": entry.reverses,
        "lines": [{"account": ln.account, "debit": str(ln.debit), "credit": str(ln.credit), "memo": ln.memo,
                   "dimensions": {d.value: v for d, v in ln.dimensions}} for ln in entry.lines],
    }


def _amount(raw: object, where: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise FinanceError(f"{where}: amounts travel as strings of cents, e.g. \"125.00\"", {"lines": "bad amount"})
    try:
        value = as_decimal(raw)
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite():
        raise FinanceError(f"{where}: {raw!r} is not an amount", {"lines": "bad amount"})
    return value


def entry_from_payload(payload: Mapping[str, object]) -> LedgerEntry:
    """Rebuild an entry and re-run every construction check (balance, cents, one-sided lines)."""
    raw_lines = payload.get("lines")
    if not isinstance(raw_lines, Sequence) or isinstance(raw_lines, str):
        raise FinanceError("a journal entry needs its lines as a list", {"lines": "must be a list"})
    try:
        posting_date = date.fromisoformat(str(payload.get("posting_date", "")))
    except ValueError:
        raise FinanceError(f"posting date {payload.get('posting_date')!r} is not a date (YYYY-MM-DD)",
                           {"posting_date": "must be YYYY-MM-DD"}) from None
    lines: list[LedgerLine] = []
    for n, raw in enumerate(raw_lines, 1):
        if not isinstance(raw, Mapping):
            raise FinanceError(f"line {n} must be an object", {"lines": "must hold objects"})
        raw_dims = raw.get("dimensions") or {}
        if not isinstance(raw_dims, Mapping):
            raise FinanceError(f"line {n}: dimensions must be an object", {"lines": "bad dimensions"})
        lines.append(LedgerLine(
            str(raw.get("account", "")), debit=_amount(raw.get("debit", "0"), f"line {n} debit"),
            credit=_amount(raw.get("credit", "0"), f"line {n} credit"),
            dimensions=dimensions_from({str(k): str(v) for k, v in raw_dims.items()}), memo=str(raw.get("memo", "")),
        ))
    reverses = payload.get("reverses")
    return LedgerEntry(str(payload.get("key", "")), posting_date, tuple(lines), str(payload.get("description", "")),
                       None if reverses is None else str(reverses))
