"""The hub's check of a customer invoice's hours (D65): before an issued invoice first posts, the hub derives the
lines again with the shared rule (`usage_hours.billable_usage`, `receivables.rental_invoice`) from what it holds
for the invoice's site and period: the usage logs, attendance and reconciliation reviews of those shift dates,
the employees, the lines' rental contracts and the site's reconciliation threshold (`hr.site_settings`). An
undecided flagged line of a billed machine and day refuses the invoice naming the machine and shift; a line whose
hours, rate or days differ from the hub's refuses it naming the line and both figures. A device's lines are its
advice, as a vendor invoice's match is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.finance.posting import read_record
from shared.domain import receivables as ar
from shared.domain.usage_hours import (
    billable_usage,
    decisions_from_reviews,
    lines_from_records,
    operator_names,
    threshold_from_settings,
    usage_from_payload,
)
from shared.errors import ValidationError

if TYPE_CHECKING:
    from hub.sync.context import ApplyContext

BY_SHIFT_DATE = ("equipment.usage_log", "hr.attendance", "hr.reconciliation_review")
# The entities are literals so the plan can use the partial indexes the people migration adds where it has.
BY_DATE_SQL = ("SELECT entity, entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity IN ("
               + ", ".join(f"'{e}'" for e in BY_SHIFT_DATE) + ") AND data->>'shift_date' BETWEEN $2 AND $3 "
               "AND NOT deleted AND ($4::text IS NULL OR site_id = $4 OR site_id IS NULL)")


async def _records(ctx: ApplyContext, invoice: ar.CustomerInvoice,
                   site: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """Per entity, id -> data of the period's shift-dated records (this push's writes over the stored)."""
    start, end = invoice.period_start.isoformat(), invoice.period_end.isoformat()
    out: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in (*BY_SHIFT_DATE, "hr.employee")}
    for r in await ctx.conn.fetch(BY_DATE_SQL, ctx.principal.tenant_id, start, end, site):
        out[r["entity"]][r["entity_id"]] = dict(r["data"])
    for r in await ctx.conn.fetch("SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = "
                                  "'hr.employee' AND NOT deleted", ctx.principal.tenant_id):
        out["hr.employee"][r["entity_id"]] = dict(r["data"])
    for w in ctx.writes:
        entity, entity_id = w.key
        if entity not in out or (site is not None and w.site_id not in (site, None)):
            continue
        if w.deleted or (entity != "hr.employee" and not start <= str(w.data.get("shift_date")) <= end):
            out[entity].pop(entity_id, None)
        else:
            out[entity][entity_id] = dict(w.data)
    return out


async def check_invoice_hours(ctx: ApplyContext, invoice: ar.CustomerInvoice, site: str | None) -> None:
    """ReceivablesError unless the invoice's lines are what the hub's accepted hours give (D65)."""
    found = await _records(ctx, invoice, site)
    contracts: dict[str, ar.RentalContract] = {}
    for ln in invoice.lines:
        data = await read_record(ctx, ("equipment.rental_contract", ln.contract_id))
        if data is None:
            raise ar.ReceivablesError(f"line {ln.line_no} bills rental contract {ln.contract_id!r}, which the hub "
                                      "does not hold", {"lines": f"line {ln.line_no}: unknown contract"})
        contracts[ln.contract_id] = ar.contract_from_payload(ln.contract_id, data)
    settings: Mapping[str, Any] | None = await read_record(ctx, ("hr.site_settings", site)) if site else None
    shifts = [u for i, d in found["equipment.usage_log"].items() if (u := usage_from_payload(i, d)) is not None]
    lines = lines_from_records(found["equipment.usage_log"].values(), found["hr.attendance"].values(),
                               found["hr.employee"])
    keys = {ln.key for ln in lines}
    reviews = {k: v for k, v in found["hr.reconciliation_review"].items() if k in keys}
    try:
        usage = billable_usage(shifts, lines, decisions_from_reviews(reviews), threshold_from_settings(settings),
                               operator_names(found["hr.employee"]))
    except ValidationError as exc:  # a stored decision the rule refuses (e.g. a correction without hours)
        raise ar.ReceivablesError(f"the hours reconciliation of this period cannot be read: {exc}",
                                  {"period_start": "fix the reconciliation decision first"}) from None
    ar.check_reviewed(list(contracts.values()), usage.open, invoice.period_start, invoice.period_end)
    try:
        derived = ar.rental_invoice(invoice.invoice_id, list(contracts.values()), usage.shifts, invoice.period_start,
                                    invoice.period_end, invoice.invoice_date, details=usage.details)
    except ar.ReceivablesError:
        derived = None
    ours = {ln.contract_id: ln for ln in derived.lines} if derived else {}
    for ln in invoice.lines:
        hub = ours.get(ln.contract_id)
        got = (hub.equipment_id, hub.hours, hub.rate, hub.first_day, hub.last_day) if hub else None
        if got != (ln.equipment_id, ln.hours, ln.rate, ln.first_day, ln.last_day):
            held = (f"{hub.hours} h × {hub.rate} over {hub.first_day}..{hub.last_day} ({hub.source})" if hub
                    else "no accepted hours")
            raise ar.ReceivablesError(
                f"invoice {invoice.number or invoice.invoice_id} line {ln.line_no} ({ln.equipment_id}) bills "
                f"{ln.hours} h × {ln.rate} over {ln.first_day}..{ln.last_day}; the hub holds {held}. Generate the "
                "invoice again once this PC has synced", {"lines": f"line {ln.line_no}: hours differ from the hub's"})
