"""Accounting periods (calendar months) and which of them are closed.

The posting date decides the period, never the day the entry happens to reach the hub: a receipt made on
30 November and synced on 2 December belongs to November, and is refused if November is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.domain.finance_errors import ClosedPeriodError, FinanceError


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise FinanceError(f"month {self.month} does not exist; periods are months 1 to 12",
                               {"period": "month out of range"})

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2026-11' → Period(2026, 11)."""
        try:
            year, month = (int(part) for part in text.split("-"))
        except ValueError:
            raise FinanceError(f"{text!r} is not a period; write it as YYYY-MM", {"period": "use YYYY-MM"}) from None
        return cls(year, month)

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def months_since(self, start: Period) -> int:
        """0 for the same month, 1 for the month after, negative before."""
        return (self.year - start.year) * 12 + self.month - start.month

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class PeriodCalendar:
    """The closed periods of one tenant. Every other period is open."""

    closed: frozenset[Period] = frozenset()

    def close(self, period: Period) -> PeriodCalendar:
        return PeriodCalendar(self.closed | {period})

    def reopen(self, period: Period) -> PeriodCalendar:
        return PeriodCalendar(self.closed - {period})

    def is_open(self, period: Period) -> bool:
        return period not in self.closed

    def check_open(self, posting_date: date, what: str) -> Period:
        period = Period.of(posting_date)
        if period in self.closed:
            raise ClosedPeriodError(
                f"period {period} is closed: {what} dated {posting_date.isoformat()} cannot be posted in it. "
                f"Post it with a date in an open period, or ask finance to reopen {period}",
                {"posting_date": f"period {period} is closed"},
            )
        return period
