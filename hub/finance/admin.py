"""Finance administration, shared by the hub API (periods_api.py) and `pitline hub finance …` (admin_cli.py):
closing and reopening periods, listing the chart, importing a chart from CSV. Each runs in the caller's
transaction with its audit entry."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import asyncpg

from hub.audit import record_action
from hub.auth.principal import Principal
from hub.finance.chart import check_posting_accounts, load_chart
from hub.finance.posting import lock_periods
from hub.finance.store import close_period, reopen_period
from hub.sync.records import Write, append_events, lock_records, save_writes
from shared.domain.finance_entities import ACCOUNT_ENTITY, chart_from_records
from shared.domain.finance_errors import FinanceError
from shared.domain.periods import Period
from shared.domain.stock_postings import default_accounts
from shared.entities import validate_mutation
from shared.envelopes import Op, event_type
from shared.errors import ValidationError


class FinanceAdminError(Exception):
    """Bad input (`status` 422) or a state that does not allow it (409); the message says what to do."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def parse_period(text: str) -> Period:
    try:
        return Period.parse(text)
    except FinanceError as exc:
        raise FinanceAdminError(str(exc)) from None


async def list_periods(conn: asyncpg.Connection | asyncpg.Pool, tenant: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT year, month, closed_at, closed_by FROM finance.closed_periods WHERE tenant_id = $1 "
                            "ORDER BY year, month", tenant)
    return [{"period": str(Period(r["year"], r["month"])), "status": "closed",
             "closed_at": r["closed_at"].isoformat(), "closed_by": r["closed_by"]} for r in rows]


async def set_period(conn: asyncpg.Connection, principal: Principal, text: str, *, close: bool) -> dict[str, Any]:
    """Close or reopen a period (idempotent: closing a closed period changes nothing and says so). Takes the
    period lock exclusively, so it waits for pushes that are posting and none posts into it after."""
    period = parse_period(text)
    tenant = principal.tenant_id
    await lock_periods(conn, tenant, exclusive=True)
    was_closed = await conn.fetchval("SELECT true FROM finance.closed_periods WHERE tenant_id = $1 AND year = $2 "
                                     "AND month = $3", tenant, period.year, period.month) or False
    if close and not was_closed:
        await close_period(conn, tenant, period, principal.actor)
    elif not close and was_closed:
        await reopen_period(conn, tenant, period)
    changed = was_closed != close
    if changed:
        await record_action(conn, principal, "finance.period.close" if close else "finance.period.reopen",
                            entity="finance.period", entity_id=str(period),
                            before={"closed": was_closed}, after={"closed": close})
    return {"period": str(period), "status": "closed" if close else "open", "changed": changed}


async def chart_rows(conn: asyncpg.Connection | asyncpg.Pool, tenant: str) -> dict[str, Any]:
    tc = await load_chart(conn, tenant)
    accounts = [{"code": a.code, "name": a.name, "type": a.type.value, "header": a.header, "parent": a.parent,
                 "required": ", ".join(sorted(d.value for d in a.required))}
                for a in sorted(tc.chart.accounts.values(), key=lambda a: a.code)]
    return {"source": "tenant records" if tc.listed else "default chart", "accounts": accounts,
            "dimension_values": {d.value: sorted(v) for d, v in sorted(tc.chart.dimension_values.items())},
            "open_dimensions": sorted(d.value for d in tc.open_dimensions)}




_COLUMNS = ("code", "name", "type", "header", "parent", "required", "active")


def _bool(text: str, where: str) -> bool:
    value = text.strip().lower()
    if value in ("", "0", "false", "no", "n"):
        return False
    if value in ("1", "true", "yes", "y"):
        return True
    raise FinanceAdminError(f"{where}: {text!r} is not yes/no")


def parse_chart_csv(text: str) -> list[dict[str, Any]]:
    """CSV with a header row: code, name, type (asset|liability|equity|income|expense) and optionally header
    (yes/no), parent, required (dimension names separated by commas, quoted), active (yes/no)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("code", "name", "type") if c not in (reader.fieldnames or [])]
    if missing:
        raise FinanceAdminError(f"the CSV needs the columns code, name, type (missing: {', '.join(missing)})")
    unknown = [c for c in reader.fieldnames or [] if c not in _COLUMNS]
    if unknown:
        raise FinanceAdminError(f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(_COLUMNS)}")
    records: list[dict[str, Any]] = []
    for n, row in enumerate(reader, start=2):
        where = f"line {n}"
        if None in row:  # csv's restkey: more fields than the header names (an unquoted comma in a name?)
            header = ", ".join(reader.fieldnames or [])
            raise FinanceAdminError(f"{where} has more fields than the header names ({header}); quote a name that "
                                    "contains a comma")
        rec: dict[str, Any] = {k: (row.get(k) or "").strip() for k in ("code", "name", "type", "parent", "required")}
        rec = {k: v for k, v in rec.items() if v or k in ("code", "name", "type")}
        rec["header"] = _bool(row.get("header") or "", f"{where} header")
        rec["active"] = _bool(row.get("active") or "yes", f"{where} active")
        try:
            validate_mutation(ACCOUNT_ENTITY, Op.CREATE, rec)
        except ValidationError as exc:
            raise FinanceAdminError(f"{where} (account {rec['code']!r}): {exc}") from None
        records.append(rec)
    if not records:
        raise FinanceAdminError("the CSV has no accounts")
    codes = [r["code"] for r in records]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise FinanceAdminError(f"account code(s) {', '.join(twice)} appear twice in the CSV")
    return records


async def import_chart(conn: asyncpg.Connection, principal: Principal, records: list[dict[str, Any]]
                       ) -> dict[str, Any]:
    """Upsert the accounts (record id = the code) after checking the whole chart they make with the tenant's
    other accounts and the default chart under them (D35); all or nothing. Written as synced records, so
    desktops pull them like any change."""
    tenant, now = principal.tenant_id, datetime.now(UTC)
    keys = sorted((ACCOUNT_ENTITY, r["code"]) for r in records)
    states = await lock_records(conn, tenant, keys)
    existing = {r["entity_id"]: dict(r["data"]) for r in await conn.fetch(
        "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND NOT deleted",
        tenant, ACCOUNT_ENTITY)}
    merged = {**existing, **{r["code"]: r for r in records}}
    try:
        check_posting_accounts(chart_from_records(merged.values(), (), default_accounts())[0])
    except FinanceError as exc:
        raise FinanceAdminError(f"the chart would not hold together: {exc}") from None
    writes: list[Write] = []
    for rec in records:
        st = states[(ACCOUNT_ENTITY, rec["code"])]
        if st.exists and st.data == rec:
            continue
        op = Op.UPDATE if st.exists else Op.CREATE
        writes.append(Write((ACCOUNT_ENTITY, rec["code"]), st.version + 1, rec, False, None, None, None,
                            event_type(ACCOUNT_ENTITY, op), None))
    if writes:
        await save_writes(conn, tenant, writes, now)
        await append_events(conn, tenant, writes, now)
    await record_action(conn, principal, "finance.chart.import", entity=ACCOUNT_ENTITY,
                        details={"accounts": len(records), "changed": len(writes)}, now=now)
    return {"accounts": len(records), "changed": len(writes), "unchanged": len(records) - len(writes)}
