"""Trial balance: a fold over journal lines, per account and per account × dimension value.

Folding balanced entries gives a balanced trial balance whatever their order or grouping, and two partial
trial balances (say, per month or per hub partition) combine into the one over all their lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from shared.domain.accounts import ChartOfAccounts, Dimension
from shared.domain.finance import ZERO
from shared.domain.journal import LedgerEntry, LedgerLine


@dataclass(frozen=True)
class Totals:
    debit: Decimal = ZERO
    credit: Decimal = ZERO

    @property
    def balance(self) -> Decimal:
        """Debit positive, credit negative."""
        return self.debit - self.credit

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.debit + other.debit, self.credit + other.credit)


DimensionKey = tuple[str, Dimension, str | None]
"""(account, dimension, value); value None collects the account's lines that do not carry that dimension, so each
dimension's rows for an account add up to the account's total."""


@dataclass(frozen=True)
class TrialBalance:
    accounts: Mapping[str, Totals] = field(default_factory=dict)
    by_dimension: Mapping[DimensionKey, Totals] = field(default_factory=dict)

    @property
    def total(self) -> Totals:
        return sum(self.accounts.values(), Totals())

    @property
    def balanced(self) -> bool:
        t = self.total
        return t.debit == t.credit

    def balance(self, account: str) -> Decimal:
        return self.accounts.get(account, Totals()).balance

    def dimension_balance(self, account: str, dimension: Dimension, value: str | None) -> Decimal:
        return self.by_dimension.get((account, dimension, value), Totals()).balance

    def combine(self, other: TrialBalance) -> TrialBalance:
        return TrialBalance(_merge(self.accounts, other.accounts), _merge(self.by_dimension, other.by_dimension))


K = TypeVar("K")


def _merge(a: Mapping[K, Totals], b: Mapping[K, Totals]) -> dict[K, Totals]:
    out = dict(a)
    for k, t in b.items():
        out[k] = out.get(k, Totals()) + t
    return out


def fold_lines(lines: Iterable[LedgerLine]) -> TrialBalance:
    accounts: dict[str, Totals] = {}
    by_dim: dict[DimensionKey, Totals] = {}
    for ln in lines:
        t = Totals(ln.debit, ln.credit)
        accounts[ln.account] = accounts.get(ln.account, Totals()) + t
        carried = dict(ln.dimensions)
        for dim in Dimension:
            key = (ln.account, dim, carried.get(dim))
            by_dim[key] = by_dim.get(key, Totals()) + t
    return TrialBalance(accounts, by_dim)


def trial_balance(entries: Iterable[LedgerEntry]) -> TrialBalance:
    """Over whole entries, so always balanced."""
    return fold_lines(ln for entry in entries for ln in entry.lines)


def rollup(tb: TrialBalance, chart: ChartOfAccounts) -> dict[str, Totals]:
    """Totals per account including header accounts, each header the sum of everything under it."""
    out: dict[str, Totals] = {}
    for code, totals in tb.accounts.items():
        at: str | None = code
        while at is not None:  # the chart refuses cycles when it is built
            out[at] = out.get(at, Totals()) + totals
            acc = chart.accounts.get(at)
            at = acc.parent if acc is not None else None
    return out
