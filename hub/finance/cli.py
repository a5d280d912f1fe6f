"""`pitline hub finance …`: close and reopen periods, list and import the chart and the dimension lists, value
stock booked before the ledger existed. Same conventions as hub/admin_cli.py (`--json`, exit codes 2 bad input,
5 wrong state)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from hub.admin_cli import ActorOpt, JsonOpt, TenantOpt, _actor, _fail, _run, _show, _table

T = TypeVar("T")

finance = typer.Typer(help="Finance: close and reopen periods, the chart of accounts, stock valuation.",
                      no_args_is_help=True)


async def _finance(conn: Any, tenant: str, op: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
    """A finance operation on an existing tenant, with its refusals as the CLI's exit codes (2 bad input, 4 no such
    tenant, 5 wrong state)."""
    from hub.finance.admin import FinanceAdminError
    from hub.identity.admin import BadInput, NotFound, StateConflict

    if not await conn.fetchval("SELECT true FROM auth.tenants WHERE id = $1", tenant):
        raise NotFound(f"no tenant {tenant!r} (pitline hub tenants list)")
    try:
        return await op(conn, *args, **kw)
    except FinanceAdminError as exc:
        raise (StateConflict if exc.status == 409 else BadInput)(str(exc)) from None


def _set_period(period: str, tenant: str, actor: str | None, as_json: bool, *, close: bool) -> None:
    from hub.finance.admin import set_period
    from hub.identity.admin import admin_principal

    row = _run(_finance, tenant, set_period, admin_principal(tenant, _actor(actor)), period, close=close,
               as_json=as_json)
    state = "closed" if close else "open"
    _show(row, as_json, f"period {row['period']} {state}" + ("" if row["changed"] else f" (it was already {state})"))


@finance.command("close-period")
def finance_close_period(period: str = typer.Argument(..., help="YYYY-MM"), tenant: str = TenantOpt,
                         actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Close an accounting period: postings dated in it are refused (stock that moves posts to the next open day)."""
    _set_period(period, tenant, actor, as_json, close=True)


@finance.command("reopen-period")
def finance_reopen_period(period: str = typer.Argument(..., help="YYYY-MM"), tenant: str = TenantOpt,
                          actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Reopen a closed accounting period."""
    _set_period(period, tenant, actor, as_json, close=False)


@finance.command("periods")
def finance_periods(tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """List the closed periods (every other month is open)."""
    from hub.finance.admin import list_periods

    rows = _run(_finance, tenant, list_periods, tenant, as_json=as_json)
    _table(rows, ["period", "status", "closed_at", "closed_by"], as_json)


@finance.command("chart")
def finance_chart(tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """List the chart of accounts postings are checked against (the tenant's own, or the default chart)."""
    from hub.finance.admin import chart_rows

    chart = _run(_finance, tenant, chart_rows, tenant, as_json=as_json)
    if as_json:
        _show(chart, True)
        return
    typer.echo(f"chart: {chart['source']}; open dimensions: {', '.join(chart['open_dimensions']) or 'none'}")
    _table(chart["accounts"], ["code", "name", "type", "header", "parent", "required"], False)


def _read_csv(file: str, as_json: bool) -> str:
    """A CSV file's text (a spreadsheet's UTF-8 byte-order mark dropped), or exit 2 saying why not."""
    from pathlib import Path

    try:
        return Path(file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}", 2, as_json)
        raise  # _fail exits; this keeps the type checker sure of it


@finance.command("chart-import")
def finance_chart_import(file: str = typer.Argument(..., help="CSV: code,name,type[,header,parent,required,active]"),
                         tenant: str = TenantOpt, actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Import accounts from a CSV (record id = code; existing accounts updated), all or nothing."""
    from hub.finance.admin import import_chart, parse_chart_csv
    from hub.identity.admin import admin_principal

    text = _read_csv(file, as_json)

    async def run(conn: Any) -> dict[str, Any]:
        return await import_chart(conn, admin_principal(tenant, _actor(actor)), parse_chart_csv(text))

    row = _run(_finance, tenant, run, as_json=as_json)
    _show(row, as_json, f"{row['accounts']} accounts imported ({row['changed']} changed, {row['unchanged']} unchanged)")


@finance.command("dimensions")
def finance_dimensions(tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """List the dimension values postings are checked against, and the dimensions that accept any value."""
    from hub.finance.dimension_admin import dimension_rows

    out = _run(_finance, tenant, dimension_rows, tenant, as_json=as_json)
    if as_json:
        _show(out, True)
        return
    typer.echo(f"open dimensions (any value accepted): {', '.join(out['open_dimensions']) or 'none'}")
    _table(out["values"], ["dimension", "value", "name", "active"], False)


@finance.command("dimension-import")
def finance_dimension_import(file: str = typer.Argument(..., help="CSV: dimension,value[,name,active]"),
                             tenant: str = TenantOpt, actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Import cost centres and projects from a CSV (record id = dimension:value), checked whole, all or nothing."""
    from hub.finance.dimension_admin import import_dimensions, parse_dimension_csv
    from hub.identity.admin import admin_principal

    text = _read_csv(file, as_json)

    async def run(conn: Any) -> dict[str, Any]:
        return await import_dimensions(conn, admin_principal(tenant, _actor(actor)), parse_dimension_csv(text))

    row = _run(_finance, tenant, run, as_json=as_json)
    _show(row, as_json, f"{row['values']} values imported ({row['changed']} changed, {row['unchanged']} unchanged)")


@finance.command("value-stock")
def finance_value_stock(tenant: str = TenantOpt, actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Value the stock booked before the hub posted the ledger: replay those balances' movements, post their entries."""
    from hub.finance.admin import FinanceAdminError
    from hub.finance.stock_backfill import value_stock
    from hub.identity.admin import admin_principal
    from shared.domain.finance_errors import FinanceError

    async def run(conn: Any) -> dict[str, Any]:
        try:
            return await value_stock(conn, admin_principal(tenant, _actor(actor)))
        except FinanceError as exc:
            raise FinanceAdminError(f"stock cannot be valued: {exc}") from None

    row = _run(_finance, tenant, run, as_json=as_json)
    _show(row, as_json, f"{row['balances']} balance(s) valued from {row['movements']} movement(s): {row['entries']} "
                        f"entries, {row['value']} in stock" + (f"; quantities differ: {row['quantity_mismatches']}"
                                                               if row["quantity_mismatches"] else ""))
