"""The chart of accounts and the dimension lists as synced tenant master data.

- `finance.account`: one account of the tenant's chart (code, name, type, header or posting, parent, the
  dimensions every line on it must carry). Tenant-wide, field_merge: finance renaming an account and another
  user marking it inactive offline both keep their edit.
- `finance.dimension_value`: one value a line may carry for a dimension (a cost centre "MAINT", a project
  "PIT-3"). Tenant-wide, field_merge. Its record id is `<dimension>:<value>` so two offices adding the same value
  write one record, not two.

A tenant with no account records posts against `stock_postings.default_chart` (the standard chart plus the
stock accounts). A dimension with no value records is *open*: any value is accepted (sites, machines and cost
centres already exist as operational master data, D35); once a tenant lists values for a dimension, only those
are accepted. Inactive records are left out of the chart (an account closed to new postings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.conflicts import Strategy
from shared.domain.accounts import Account, AccountType, ChartOfAccounts, Dimension
from shared.domain.finance_errors import ChartError
from shared.entities import EntitySpec, FieldSpec, register

ACCOUNT_ENTITY = "finance.account"
DIMENSION_VALUE_ENTITY = "finance.dimension_value"


def required_dimensions(text: object) -> frozenset[Dimension]:
    """'site, cost_centre' -> {SITE, COST_CENTRE}; an unknown name is refused naming the field."""
    if text is None or text == "":
        return frozenset()
    if not isinstance(text, str):
        raise ChartError("required dimensions are written as names separated by commas",
                         {"required": "e.g. site, cost_centre"})
    out: set[Dimension] = set()
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        try:
            out.add(Dimension(name))
        except ValueError:
            known = ", ".join(d.value for d in Dimension)
            raise ChartError(f"'{name}' is not a dimension; an account can require {known}",
                             {"required": f"unknown dimension {name}"}) from None
    return frozenset(out)


def account_from_record(data: Mapping[str, Any]) -> Account:
    try:
        kind = AccountType(str(data.get("type", "")))
    except ValueError:
        raise ChartError(f"account {data.get('code')!r}: type must be one of "
                         + ", ".join(t.value for t in AccountType), {"type": "unknown account type"}) from None
    parent = data.get("parent")
    return Account(str(data.get("code", "")).strip(), str(data.get("name", "")), kind, bool(data.get("header")),
                   str(parent).strip() if parent else None, required_dimensions(data.get("required")))


def check_account_record(data: Mapping[str, Any]) -> None:
    """The rules one record can be held to alone (the whole chart's are checked when it is built)."""
    acc = account_from_record(data)
    if not acc.code:
        raise ChartError("an account needs its code", {"code": "is required"})
    if acc.header and acc.required:
        raise ChartError(f"header account {acc} cannot require dimensions: nothing posts to it",
                         {"required": "only posting accounts require dimensions"})
    if acc.parent == acc.code:
        raise ChartError(f"account {acc} cannot sit under itself", {"parent": "must be another account"})


def check_dimension_value_record(data: Mapping[str, Any]) -> None:
    if not str(data.get("value", "")).strip():
        raise ChartError("a dimension value cannot be blank", {"value": "is required"})


def dimension_value_id(dimension: str, value: str) -> str:
    return f"{dimension}:{value.strip()}"[:128]


def chart_from_records(accounts: Iterable[Mapping[str, Any]], values: Iterable[Mapping[str, Any]],
                       fallback: Iterable[Account]) -> tuple[ChartOfAccounts, frozenset[Dimension]]:
    """The tenant's chart from its records (`fallback` accounts when it has none) and its open dimensions."""
    listed = [account_from_record(a) for a in accounts if a.get("active", True) is not False]
    by_dim: dict[Dimension, set[str]] = {}
    for v in values:
        if v.get("active", True) is False:
            continue
        by_dim.setdefault(Dimension(str(v["dimension"])), set()).add(str(v["value"]).strip())
    chart = ChartOfAccounts.build(listed or list(fallback), by_dim)
    return chart, frozenset(d for d in Dimension if d not in by_dim)


ACCOUNT = register(
    EntitySpec(
        name=ACCOUNT_ENTITY,
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,
        fields={
            "code": FieldSpec("str", required=True, max_length=16, label="Account code"),
            "name": FieldSpec("str", required=True, max_length=128, label="Name"),
            "type": FieldSpec("str", required=True, choices=tuple(t.value for t in AccountType), label="Type"),
            "header": FieldSpec("bool", label="Header account"),
            "parent": FieldSpec("str", max_length=16, label="Under"),
            "required": FieldSpec("str", max_length=64, label="Required dimensions"),
            "active": FieldSpec("bool", label="Active"),
        },
        record_check=check_account_record,
    )
)

DIMENSION_VALUE = register(
    EntitySpec(
        name=DIMENSION_VALUE_ENTITY,
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,
        fields={
            "dimension": FieldSpec("str", required=True, choices=tuple(d.value for d in Dimension),
                                   label="Dimension"),
            "value": FieldSpec("str", required=True, max_length=64, label="Value"),
            "name": FieldSpec("str", max_length=128, label="Name"),
            "active": FieldSpec("bool", label="Active"),
        },
        record_check=check_dimension_value_record,
    )
)
