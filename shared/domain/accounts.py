"""Chart of accounts with dimensions, and the check every journal line passes before it is posted.

An account is either a *header* (it only totals the accounts under it: "6000 Operating expenses") or a
*posting* account. Lines carry dimension values (site, cost centre, equipment, project) so the same account
can be reported per machine or per cost centre without multiplying accounts; an account may require some
dimensions (parts consumed are meaningless without the cost centre that consumed them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shared.domain.finance_errors import (
    ChartError,
    HeaderAccountError,
    MissingDimensionError,
    UnknownAccountError,
    UnknownDimensionError,
)


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def debit_normal(self) -> bool:
        """Assets and expenses grow with debits; liabilities, equity and income with credits."""
        return self in (AccountType.ASSET, AccountType.EXPENSE)


class Dimension(StrEnum):
    SITE = "site"
    COST_CENTRE = "cost_centre"
    EQUIPMENT = "equipment"
    PROJECT = "project"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


Dimensions = tuple[tuple[Dimension, str], ...]
"""Dimension values of one line, sorted by dimension: hashable, so lines and trial-balance keys compare."""


def dims(
    *, site: str | None = None, cost_centre: str | None = None, equipment: str | None = None,
    project: str | None = None,
) -> Dimensions:
    """The dimension tuple for the values given (None or blank: the line does not carry that dimension)."""
    given = {Dimension.SITE: site, Dimension.COST_CENTRE: cost_centre, Dimension.EQUIPMENT: equipment,
             Dimension.PROJECT: project}
    return tuple((d, v) for d, v in sorted(given.items()) if v is not None and v.strip())


def dimensions_from(raw: Mapping[str, str]) -> Dimensions:
    """Dimensions from a synced payload's {"site": "S1", ...}; an unknown dimension name is refused."""
    out: dict[Dimension, str] = {}
    for name, value in raw.items():
        try:
            dim = Dimension(name)
        except ValueError:
            known = ", ".join(d.value for d in Dimension)
            raise UnknownDimensionError(
                f"'{name}' is not a dimension; lines can carry {known}", {"dimensions": f"unknown dimension {name}"}
            ) from None
        out[dim] = str(value)
    return tuple(sorted(out.items()))


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    type: AccountType
    header: bool = False
    parent: str | None = None
    required: frozenset[Dimension] = frozenset()

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


@dataclass(frozen=True)
class ChartOfAccounts:
    """One tenant's accounts and the dimension values lines may carry. Build it with `build`, which checks it."""

    accounts: Mapping[str, Account]
    dimension_values: Mapping[Dimension, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, accounts: Iterable[Account], dimension_values: Mapping[Dimension, Iterable[str]] | None = None
    ) -> ChartOfAccounts:
        by_code: dict[str, Account] = {}
        for acc in accounts:
            if not acc.code.strip():
                raise ChartError(f"account {acc.name!r} has no code", {"code": "is required"})
            if acc.code in by_code:
                raise ChartError(f"account code {acc.code} is used twice ({by_code[acc.code].name!r} and "
                                 f"{acc.name!r}); each account needs its own code", {"code": "must be unique"})
            if acc.header and acc.required:
                raise ChartError(f"header account {acc} cannot require dimensions: nothing posts to it",
                                 {"required": "only posting accounts require dimensions"})
            by_code[acc.code] = acc
        for acc in by_code.values():
            if acc.parent is None:
                continue
            parent = by_code.get(acc.parent)
            if parent is None:
                raise ChartError(f"account {acc} sits under {acc.parent}, which is not in the chart",
                                 {"parent": "unknown account"})
            if not parent.header:
                raise ChartError(f"account {acc} sits under {parent}, a posting account; only header accounts "
                                 "have accounts under them", {"parent": "must be a header account"})
            if parent.type is not acc.type:
                raise ChartError(f"account {acc} ({acc.type}) sits under {parent} ({parent.type}); an account "
                                 "rolls up into a header of its own type", {"parent": "type differs"})
        for acc in by_code.values():
            seen, at = {acc.code}, acc.parent
            while at is not None:
                if at in seen:
                    raise ChartError(f"account {acc} is, through its parents, under itself; each account rolls up "
                                     "into a header above it", {"parent": "cycle"})
                seen.add(at)
                at = by_code[at].parent
        values = {d: frozenset(v) for d, v in (dimension_values or {}).items()}
        return cls(by_code, values)

    def account(self, code: str) -> Account:
        acc = self.accounts.get(code)
        if acc is None:
            raise UnknownAccountError(
                f"account {code!r} is not in the chart of accounts; add it to the chart or post to an existing "
                "account", {"account": f"unknown account {code}"},
            )
        return acc

    def children(self, code: str) -> tuple[Account, ...]:
        return tuple(a for a in self.accounts.values() if a.parent == code)

    def check_line(self, account_code: str, dimensions: Dimensions) -> Account:
        """The account a line may post to, or the error that says why it may not."""
        acc = self.account(account_code)
        if acc.header:
            under = ", ".join(str(a) for a in self.children(acc.code)[:5]) or "none yet"
            raise HeaderAccountError(
                f"account {acc} is a header account that only totals the accounts under it; post to one of them "
                f"({under})", {"account": "header account"},
            )
        given = dict(dimensions)
        for dim, value in dimensions:
            known = self.dimension_values.get(dim, frozenset())
            if value not in known:
                raise UnknownDimensionError(
                    f"{dim.label} {value!r} is not a known {dim.label} (account {acc}); add it to the {dim.label} "
                    f"list or correct the line", {dim.value: f"unknown {dim.label} {value}"},
                )
        for dim in sorted(acc.required):
            if not given.get(dim):
                raise MissingDimensionError(
                    f"account {acc} needs a {dim.label} on every line; say which {dim.label} this amount belongs to",
                    {dim.value: "is required for this account"},
                )
        return acc
