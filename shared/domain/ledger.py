"""Posting to the general ledger: every check first, then the new ledger; a refused entry posts nothing.

`Ledger` is an immutable value (the entries posted, in order), so the desktop can post offline against its
replica and the hub against what it holds, with the same rules; `post` returns a new ledger and leaves the
old one as it was. The hub keeps its entries in PostgreSQL and calls `check_entry` / `replay_outcome` /
`check_reversal` directly with what it looked up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shared.domain.accounts import ChartOfAccounts
from shared.domain.finance_errors import IdempotencyConflictError, ReversalError
from shared.domain.journal import LedgerEntry, LedgerLine
from shared.domain.periods import PeriodCalendar


class PostOutcome(StrEnum):
    POSTED = "posted"
    DUPLICATE = "duplicate"  # the same key with the same content was posted before: nothing changes


def check_entry(entry: LedgerEntry, chart: ChartOfAccounts, calendar: PeriodCalendar) -> None:
    """Period open, every line's account and dimensions valid. (Balance was checked when the entry was built.)"""
    calendar.check_open(entry.posting_date, f"entry {entry.key!r}")
    for ln in entry.lines:
        chart.check_line(ln.account, ln.dimensions)


def _same_posting(a: LedgerEntry, b: LedgerEntry) -> bool:
    # Line order and memo text are presentation; the posting is the multiset of (account, amounts, dimensions).
    # Amounts as whole cents: 125, 125.0 and 125.00 are one amount (Decimal's text keeps the exponent).
    def key(ln: LedgerLine) -> tuple[str, int, int, tuple[tuple[str, str], ...]]:
        return (ln.account, int(ln.debit * 100), int(ln.credit * 100), tuple((str(d), v) for d, v in ln.dimensions))

    return (a.posting_date == b.posting_date and a.reverses == b.reverses
            and sorted(map(key, a.lines)) == sorted(map(key, b.lines)))


def replay_outcome(existing: LedgerEntry | None, entry: LedgerEntry) -> PostOutcome:
    """POSTED when the key is new, DUPLICATE when the same posting arrives again; a different posting under a
    key already used is refused, because the source line was posted once and a correction is a reversal."""
    if existing is None:
        return PostOutcome.POSTED
    if _same_posting(existing, entry):
        return PostOutcome.DUPLICATE
    raise IdempotencyConflictError(
        f"{entry.key!r} was already posted, dated {existing.posting_date.isoformat()} for {existing.total}; this "
        f"one is dated {entry.posting_date.isoformat()} for {entry.total} with other lines or date. A posted entry "
        "is never changed: reverse it and post the correction under a new key",
        {"key": "already posted with other figures"},
    )


def check_reversal(entry: LedgerEntry, target: LedgerEntry | None, reversed_by: str | None) -> None:
    """A reversal must name a posted entry that is not itself reversed yet, and mirror its lines exactly."""
    if entry.reverses is None:
        return
    if target is None:
        raise ReversalError(f"{entry.key!r} reverses {entry.reverses!r}, which was never posted",
                            {"reverses": "unknown entry"})
    if target.reverses is not None:
        raise ReversalError(f"{target.key!r} is itself a reversal; post the original again under a new key instead "
                            "of reversing a reversal", {"reverses": "is a reversal"})
    if reversed_by is not None and reversed_by != entry.key:
        raise ReversalError(f"{target.key!r} was already reversed by {reversed_by!r}; it cannot be reversed twice",
                            {"reverses": "already reversed"})
    mirror = target.reversal(entry.key, entry.posting_date)
    if not _same_posting(mirror, entry):
        raise ReversalError(f"{entry.key!r} does not mirror the lines of {target.key!r}; a reversal undoes the whole "
                            "entry, then a new entry posts the correct figures", {"lines": "must mirror the original"})


@dataclass(frozen=True)
class Ledger:
    entries: tuple[LedgerEntry, ...] = ()
    _by_key: Mapping[str, LedgerEntry] = field(init=False, compare=False, repr=False)
    _reversed_by: Mapping[str, str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Indexes derived from the entries, so a ledger built from stored entries answers like a posted one.
        object.__setattr__(self, "_by_key", {e.key: e for e in self.entries})
        object.__setattr__(self, "_reversed_by", {e.reverses: e.key for e in self.entries if e.reverses is not None})

    def get(self, key: str) -> LedgerEntry | None:
        return self._by_key.get(key)

    def reversed_by(self, key: str) -> str | None:
        return self._reversed_by.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __len__(self) -> int:
        return len(self.entries)

    def lines(self) -> Iterable[LedgerLine]:
        for entry in self.entries:
            yield from entry.lines

    def post(self, entry: LedgerEntry, chart: ChartOfAccounts, calendar: PeriodCalendar) -> tuple[Ledger, PostOutcome]:
        outcome = replay_outcome(self.get(entry.key), entry)
        if outcome is PostOutcome.DUPLICATE:
            return self, outcome  # a replay: even a period closed since then does not matter, nothing is posted
        check_entry(entry, chart, calendar)
        if entry.reverses is not None:
            check_reversal(entry, self.get(entry.reverses), self.reversed_by(entry.reverses))
        return Ledger((*self.entries, entry)), outcome

    def post_all(
        self, entries: Iterable[LedgerEntry], chart: ChartOfAccounts, calendar: PeriodCalendar
    ) -> tuple[Ledger, tuple[PostOutcome, ...]]:
        """All or nothing: if any entry is refused the error propagates and the caller still holds `self`."""
        ledger = self
        outcomes: list[PostOutcome] = []
        for entry in entries:
            ledger, outcome = ledger.post(entry, chart, calendar)
            outcomes.append(outcome)
        return ledger, tuple(outcomes)
