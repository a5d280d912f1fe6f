"""The finance error hierarchy. Every refusal names what was refused and what to do about it.

All of them are `ValidationError`s, so a hub that applies a mutation answers `rejected` with the message (a 4xx,
never a 500) and a desktop shows it on the form. A rule that raises has posted nothing: the ledger functions
build the new state only after every check passed.
"""

from __future__ import annotations

from shared.errors import ValidationError


class FinanceError(ValidationError):
    """A finance rule refused the operation; nothing was posted."""


class ChartError(FinanceError):
    """The chart of accounts itself is ill-formed (duplicate code, unknown parent, header under a posting account)."""


class UnknownAccountError(FinanceError):
    """A line names an account that is not in the tenant's chart of accounts."""


class HeaderAccountError(FinanceError):
    """A line posts to a header account, which only totals the accounts under it."""


class UnknownDimensionError(FinanceError):
    """A line carries a dimension value (site, cost centre, equipment, project) the chart does not know."""


class MissingDimensionError(FinanceError):
    """A line lacks a dimension its account requires (e.g. parts consumed without a cost centre)."""


class UnbalancedEntryError(FinanceError):
    """A journal entry whose debits and credits differ; it is never written."""


class ClosedPeriodError(FinanceError):
    """The entry's posting date falls in a closed period."""


class IdempotencyConflictError(FinanceError):
    """A source document line was posted before with different figures: corrections are reversals, not re-posts."""


class ReversalError(FinanceError):
    """A reversal that does not mirror an existing, not yet reversed entry."""


class CostingError(FinanceError):
    """A stock movement that cannot be costed (zero or negative quantity, negative price)."""


class UnmatchedInvoiceError(FinanceError):
    """A vendor invoice line outside the three-way-match tolerances, posted without an approval."""


class MatchError(FinanceError):
    """An invoice line cannot be matched at all (non-positive quantity, negative price)."""


class DepreciationError(FinanceError):
    """An asset whose depreciation cannot be computed (salvage above cost, no useful life, negative usage)."""
