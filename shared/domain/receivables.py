"""Accounts receivable: customer invoices built from rental contracts and the machines' engine hours in a period,
customer receipts allocated to invoices, AR open items and ageing (`open_items`).

- `rental_invoice` bills one customer for a period: one line per machine on contract, its engine hours
  (`usage_hours`: operating + idle, the shift date deciding the day) over the days of the period the contract
  covers, × the contract's rate per hour, rounded once to the cent. A contract that starts or ends inside the
  period bills only its own days; a machine with no hours has no line.
- The hours are the *accepted* hours (D64): `usage_hours.billable_usage` puts the supervisors' reconciliation
  decisions in place of the measured figure, and `check_reviewed` refuses an invoice while a flagged
  reconciliation line of a billed machine and day is undecided (as the payroll export does). Each line says
  where its hours came from (`source`).
- A contract is billed once per day: an invoice whose period overlaps another (not cancelled) invoice of the same
  contract is refused (`check_not_billed`), so regenerating an invoice never bills hours twice (D41).
- Posting: each line is `postings.customer_invoice_line` (Dr AR / Cr rental income by machine); a receipt is
  Dr bank / Cr AR under `customer_receipt:<id>` (`customer_receipt_entry`).

Strategies:
- `finance.customer_invoice` is manual: what we bill is a person's document; two edits are for a person.
- `finance.customer_receipt` is create-only: money received is a fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.conflicts import Strategy
from shared.domain.accounts import dims
from shared.domain.finance import DEFAULT_ACCOUNTS, ZERO, LedgerAccounts, money
from shared.domain.finance_errors import FinanceError
from shared.domain.journal import LedgerEntry, credit, debit
from shared.domain.open_items import Document, Settlement, allocations_from, cents
from shared.domain.postings import customer_invoice_line
from shared.domain.usage_hours import OpenShift, ShiftHours, ShiftKey, UsageShift, engine_hours, hours_sources
from shared.entities import EntitySpec, FieldSpec, register

INVOICE = "finance.customer_invoice"
RECEIPT = "finance.customer_receipt"
STATUSES = ("draft", "issued", "cancelled")


class ReceivablesError(FinanceError):
    """A customer invoice or receipt that cannot be built or read."""


@dataclass(frozen=True)
class RentalContract:
    contract_id: str
    equipment_id: str
    customer: str
    rate: Decimal
    starts_on: date | None = None
    ends_on: date | None = None


def _decimal(raw: object, what: str, field_name: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise ReceivablesError(f"{what} is missing or not a number", {field_name: "must be a number"})
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        raise ReceivablesError(f"{what}: {raw!r} is not a number", {field_name: "must be a number"}) from None
    if not value.is_finite() or value < 0:
        raise ReceivablesError(f"{what}: {raw!r} must be a number of at least 0", {field_name: "must be ≥ 0"})
    return value


def _date(raw: object, what: str, field_name: str) -> date:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ReceivablesError(f"{what} {raw!r} is not a date (YYYY-MM-DD)",
                               {field_name: "must be YYYY-MM-DD"}) from None


def contract_from_payload(contract_id: str, payload: Mapping[str, Any]) -> RentalContract:
    def opt(name: str) -> date | None:
        return _date(payload[name], name, name) if payload.get(name) else None
    return RentalContract(contract_id, str(payload.get("equipment_id") or ""), str(payload.get("customer") or ""),
                          _decimal(payload.get("rate_per_hour"), "rate per hour", "rate_per_hour"),
                          opt("starts_on"), opt("ends_on"))


@dataclass(frozen=True)
class CustomerInvoiceLine:
    line_no: int
    contract_id: str
    equipment_id: str
    hours: Decimal
    rate: Decimal
    first_day: date  # the days of the period this contract covered
    last_day: date
    source: str = ""  # where the hours came from (hours_sources), shown and kept on the invoice

    @property
    def amount(self) -> Decimal:
        return money(self.hours * self.rate)


@dataclass(frozen=True)
class CustomerInvoice:
    invoice_id: str
    customer: str
    invoice_date: date
    due_date: date
    period_start: date
    period_end: date
    lines: tuple[CustomerInvoiceLine, ...]
    status: str = "issued"
    number: str = ""

    @property
    def total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), ZERO)

    def as_document(self) -> Document:
        return Document(self.invoice_id, self.customer, self.invoice_date, self.due_date, self.total,
                        self.number or self.invoice_id)


def rental_invoice(invoice_id: str, contracts: Sequence[RentalContract], usage: Iterable[UsageShift],
                   period_start: date, period_end: date, invoice_date: date, terms_days: int = 0,
                   number: str = "", details: Mapping[ShiftKey, ShiftHours] | None = None) -> CustomerInvoice:
    """Bill one customer's contracts for a period from deduplicated usage shifts (`billable_usage(...).shifts`
    for the accepted hours, with its `details` so each line says where its hours came from)."""
    if period_end < period_start:
        raise ReceivablesError(f"the period ends ({period_end}) before it starts ({period_start})",
                               {"period_end": "before the start"})
    if not contracts:
        raise ReceivablesError("choose at least one rental contract", {"contract_ids": "none chosen"})
    customers = {c.customer for c in contracts}
    if len(customers) != 1:
        raise ReceivablesError("one invoice bills one customer; these contracts are for " +
                               ", ".join(sorted(customers)), {"contract_ids": "contracts of several customers"})
    shifts = list(usage)
    lines: list[CustomerInvoiceLine] = []
    for c in sorted(contracts, key=lambda c: (c.equipment_id, c.contract_id)):
        first = max(period_start, c.starts_on) if c.starts_on else period_start
        last = min(period_end, c.ends_on) if c.ends_on else period_end
        if last < first:
            continue  # the contract does not run in this period
        hours = engine_hours(shifts, c.equipment_id, first, last)
        if hours > 0 and money(hours * c.rate) > 0:
            source = hours_sources(details, c.equipment_id, first, last) if details is not None else ""
            lines.append(CustomerInvoiceLine(len(lines) + 1, c.contract_id, c.equipment_id, hours, c.rate, first,
                                             last, source))
    if not lines:
        raise ReceivablesError(f"no engine hours to bill between {period_start} and {period_end} on these contracts",
                               {"period_start": "no hours in this period"})
    return CustomerInvoice(invoice_id, customers.pop(), invoice_date, invoice_date + timedelta(days=terms_days),
                           period_start, period_end, tuple(lines), "issued", number)


def check_reviewed(contracts: Sequence[RentalContract], open_shifts: Iterable[OpenShift], period_start: date,
                   period_end: date) -> None:
    """Refuse billing a contract's day while a flagged reconciliation line of its machine that day is undecided
    (the invoice would bill hours nobody looked at); the message names the machine and shift (D64)."""
    blocked: list[OpenShift] = []
    for o in open_shifts:
        for c in contracts:
            first = max(period_start, c.starts_on) if c.starts_on else period_start
            last = min(period_end, c.ends_on) if c.ends_on else period_end
            if c.equipment_id == o.equipment_id and first <= o.shift_date <= last:
                blocked.append(o)
                break
    if blocked:
        more = f" (and {len(blocked) - 1} more)" if len(blocked) > 1 else ""
        raise ReceivablesError(f"not billed: {blocked[0].message()}{more}",
                               {"period_start": "; ".join(f"{o.equipment_id} {o.shift_date} {o.shift}"
                                                          for o in blocked[:5]) + more + " not reconciled"})


def check_not_billed(invoice: CustomerInvoice, others: Iterable[CustomerInvoice]) -> None:
    """Refuse billing a contract's day twice (a regenerated or a second invoice over the same days)."""
    for other in others:
        if other.invoice_id == invoice.invoice_id or other.status == "cancelled":
            continue
        for ln in invoice.lines:
            for prior in other.lines:
                if (prior.contract_id == ln.contract_id and prior.first_day <= ln.last_day
                        and ln.first_day <= prior.last_day):
                    raise ReceivablesError(
                        f"contract {ln.contract_id} ({ln.equipment_id}) is already billed from {prior.first_day} to "
                        f"{prior.last_day} on invoice {other.number or other.invoice_id}; cancel that invoice or "
                        "choose a period after it",
                        {"period_start": f"{ln.equipment_id} already billed {prior.first_day}..{prior.last_day} on "
                                         f"{other.number or other.invoice_id}"})


def invoice_payload(invoice: CustomerInvoice) -> dict[str, Any]:
    """The `finance.customer_invoice` record: hours, rates and amounts as text, never floats."""
    return {
        "number": invoice.number, "customer": invoice.customer, "invoice_date": invoice.invoice_date.isoformat(),
        "due_date": invoice.due_date.isoformat(), "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(), "status": invoice.status, "total": str(invoice.total),
        "lines": [{"contract_id": ln.contract_id, "equipment_id": ln.equipment_id, "hours": str(ln.hours),
                   "rate": str(ln.rate), "amount": str(ln.amount), "first_day": ln.first_day.isoformat(),
                   "last_day": ln.last_day.isoformat(), **({"source": ln.source} if ln.source else {})}
                  for ln in invoice.lines],
    }


def invoice_from_payload(invoice_id: str, payload: Mapping[str, Any]) -> CustomerInvoice:
    raw = payload.get("lines")
    if not isinstance(raw, list) or not raw:
        raise ReceivablesError("a customer invoice needs at least one line", {"lines": "no lines"})
    period_start = _date(payload.get("period_start"), "period start", "period_start")
    period_end = _date(payload.get("period_end"), "period end", "period_end")
    lines: list[CustomerInvoiceLine] = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, Mapping) or not item.get("equipment_id"):
            raise ReceivablesError(f"line {n} names no machine", {"lines": f"line {n}: which machine?"})
        line = CustomerInvoiceLine(
            n, str(item.get("contract_id") or ""), str(item["equipment_id"]),
            _decimal(item.get("hours"), f"line {n} hours", "lines"), _decimal(item.get("rate"), f"line {n} rate",
                                                                             "lines"),
            _date(item.get("first_day") or period_start, f"line {n} first day", "lines"),
            _date(item.get("last_day") or period_end, f"line {n} last day", "lines"), str(item.get("source") or ""))
        if item.get("amount") is not None and _decimal(item["amount"], f"line {n} amount", "lines") != line.amount:
            raise ReceivablesError(f"line {n}: amount {item['amount']} is not {line.hours} h × {line.rate} = "
                                   f"{line.amount}", {"lines": f"line {n}: amount ≠ hours × rate"})
        lines.append(line)
    invoice_date = _date(payload.get("invoice_date"), "invoice date", "invoice_date")
    due = _date(payload["due_date"], "due date", "due_date") if payload.get("due_date") else invoice_date
    return CustomerInvoice(invoice_id, str(payload.get("customer") or ""), invoice_date, due, period_start,
                           period_end, tuple(lines), str(payload.get("status") or "issued"),
                           str(payload.get("number") or ""))


def invoice_entries(invoice: CustomerInvoice, site: str) -> list[LedgerEntry]:
    """One entry per line, dated the invoice date; a draft or cancelled invoice posts nothing."""
    if invoice.status != "issued":
        return []
    return [customer_invoice_line(invoice.invoice_id, ln.line_no, invoice.invoice_date, ln.hours, ln.rate, site,
                                  ln.equipment_id) for ln in invoice.lines]


# --- receipts ---------------------------------------------------------------------------------------
def receipt_from_payload(receipt_id: str, payload: Mapping[str, Any]) -> Settlement:
    what = f"receipt {receipt_id}"
    customer = str(payload.get("customer") or "")
    if not customer:
        raise ReceivablesError(f"{what} names no customer", {"customer": "is required"})
    return Settlement(receipt_id, customer, _date(payload.get("received_on"), "receipt date", "received_on"),
                      cents(payload.get("amount"), what, "amount"), allocations_from(payload.get("allocations"), what))


def customer_receipt_entry(receipt_id: str, posting_date: date, amount: Decimal, site: str,
                           a: LedgerAccounts = DEFAULT_ACCOUNTS) -> LedgerEntry:
    """Dr bank / Cr accounts receivable, the whole amount (an unallocated part is still cash against AR)."""
    d = dims(site=site)
    return LedgerEntry(f"customer_receipt:{receipt_id}", posting_date, (
        debit(a.bank, money(amount), d, "customer receipt"), credit(a.receivable, money(amount), d,
                                                                    "customer receipt")), "customer receipt")


def _check_invoice(payload: Mapping[str, Any]) -> None:
    invoice_from_payload("new", payload)


def _check_receipt(payload: Mapping[str, Any]) -> None:
    receipt_from_payload("new", payload)


CUSTOMER_INVOICE = register(
    EntitySpec(
        name=INVOICE,
        strategy=Strategy.MANUAL,
        record_check=_check_invoice,
        fields={
            "number": FieldSpec("str", max_length=32, label="Invoice number"),
            "customer": FieldSpec("str", required=True, max_length=128, label="Customer"),
            "invoice_date": FieldSpec("date", required=True, label="Invoice date"),
            "due_date": FieldSpec("date", label="Due date"),
            "period_start": FieldSpec("date", required=True, label="Period from"),
            "period_end": FieldSpec("date", required=True, label="Period to"),
            "lines": FieldSpec("list", required=True, label="Lines (contract, machine, hours, rate, amount)"),
            "total": FieldSpec("str", max_length=20, label="Total"),
            "status": FieldSpec("str", choices=STATUSES, label="Status"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)

CUSTOMER_RECEIPT = register(
    EntitySpec(
        name=RECEIPT,
        strategy=Strategy.SERVER_WINS,
        create_only=True,
        record_check=_check_receipt,
        fields={
            "customer": FieldSpec("str", required=True, max_length=128, label="Customer"),
            "received_on": FieldSpec("date", required=True, label="Received on"),
            "amount": FieldSpec("str", required=True, max_length=20, label="Amount"),
            "allocations": FieldSpec("list", label="Allocations (invoice_id, amount)"),
            "reference": FieldSpec("str", max_length=64, label="Reference"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)
