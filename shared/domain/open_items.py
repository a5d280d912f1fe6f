"""Open items and ageing, the same for payables and receivables.

A *document* (a vendor invoice, a customer invoice) is owed in full from its date and due on its due date; a
*settlement* (a payment to a vendor, a receipt from a customer) allocates its amount to one or more documents
of the same party. An item is open for what its allocations have not yet covered.

Two rules, one for forms and the hub, one for reports:
- `check_allocation` refuses a settlement that over-allocates: more to its documents than it carries, more to
  a document than is still open on it, to a document of another party or to one that does not exist.
- `open_items` is a fold that never refuses: two settlements accepted offline on different desks may together
  cover more than a document; applied in time order (ties by id), each document takes what is still open and
  the excess is the party's *unapplied* cash, shown beside the ageing, never lost and never counted twice.

Ageing buckets are days past due at a date: `current` (not yet due, or due that day), `1-30`, `31-60`, `61-90`,
`90+` (D40).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from shared.domain.finance import money
from shared.domain.finance_errors import FinanceError

BUCKETS: tuple[str, ...] = ("current", "1-30", "31-60", "61-90", "90+")
ZERO = Decimal("0.00")  # written as cents: a report shows 0.00, not 0


class AllocationError(FinanceError):
    """A payment or receipt whose allocations do not fit its amount or the documents' open amounts."""


@dataclass(frozen=True)
class Document:
    document_id: str
    party: str  # the vendor or the customer
    document_date: date
    due_date: date
    amount: Decimal  # in cents
    reference: str = ""  # the vendor's invoice number, our invoice number
    kind: str = "invoice"  # "asset": a fixed asset bought on account, its own payable (D89)


@dataclass(frozen=True)
class Allocation:
    document_id: str
    amount: Decimal


@dataclass(frozen=True)
class Settlement:
    settlement_id: str
    party: str
    settled_on: date
    amount: Decimal
    allocations: tuple[Allocation, ...]


def cents(raw: object, what: str, field_name: str) -> Decimal:
    """An amount from a payload: a string (or an int) of whole cents, positive. Floats are refused, so no binary
    fraction ever becomes money."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise AllocationError(f"{what}: amounts are written as text in cents, e.g. \"125.00\"",
                              {field_name: "write the amount as text, e.g. 125.00"})
    try:
        value = Decimal(raw)
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite():
        raise AllocationError(f"{what}: {raw!r} is not an amount", {field_name: "is not an amount"})
    if value != money(value):
        raise AllocationError(f"{what}: {raw} has fractions of a cent", {field_name: "whole cents only"})
    if value <= 0:
        raise AllocationError(f"{what}: {raw} must be more than 0.00", {field_name: "must be more than 0.00"})
    return money(value)


def allocations_from(raw: object, what: str) -> tuple[Allocation, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise AllocationError(f"{what}: allocations must be a list", {"allocations": "must be a list"})
    out: list[Allocation] = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, Mapping) or not str(item.get("invoice_id") or "").strip():
            raise AllocationError(f"{what}: allocation {n} names no invoice", {"allocations": f"line {n}: invoice?"})
        out.append(Allocation(str(item["invoice_id"]), cents(item.get("amount"), f"{what} allocation {n}",
                                                             "allocations")))
    return tuple(out)


def allocated_total(settlement: Settlement) -> Decimal:
    return sum((a.amount for a in settlement.allocations), ZERO)


def check_allocation(settlement: Settlement, documents: Mapping[str, Document],
                     settled_before: Mapping[str, Decimal]) -> None:
    """Refuse an over-allocation. `settled_before`: per document, what earlier settlements already allocated."""
    what = f"{settlement.settlement_id}"
    total = allocated_total(settlement)
    if total > settlement.amount:
        raise AllocationError(
            f"{what} allocates {total} to invoices but is only {settlement.amount}; lower an allocation or raise the "
            "amount", {"allocations": f"{total} allocated of {settlement.amount}"})
    per_doc: dict[str, Decimal] = {}
    for a in settlement.allocations:
        per_doc[a.document_id] = per_doc.get(a.document_id, ZERO) + a.amount
    for doc_id, amount in per_doc.items():
        doc = documents.get(doc_id)
        if doc is None:
            raise AllocationError(f"{what} allocates {amount} to invoice {doc_id}, which does not exist",
                                  {"allocations": f"unknown invoice {doc_id}"})
        if doc.party != settlement.party:
            raise AllocationError(f"{what} is for {settlement.party} but invoice {doc.reference or doc_id} is "
                                  f"{doc.party}'s", {"allocations": f"invoice {doc_id} is another party's"})
        still_open = doc.amount - settled_before.get(doc_id, ZERO)
        if amount > still_open:
            raise AllocationError(
                f"{what} allocates {amount} to invoice {doc.reference or doc_id}, which has {still_open} open of "
                f"{doc.amount}", {"allocations": f"only {still_open} open on {doc.reference or doc_id}"})


@dataclass(frozen=True)
class OpenItem:
    document: Document
    settled: Decimal

    @property
    def open(self) -> Decimal:
        return self.document.amount - self.settled


@dataclass(frozen=True)
class OpenItems:
    items: tuple[OpenItem, ...]  # documents with something still open, by due date then id
    unapplied: Mapping[str, Decimal]  # per party: settled but not allocated (or allocated past a document)
    settled: Mapping[str, Decimal]  # per document: what settlements covered (all documents)


def open_items(documents: Iterable[Document], settlements: Iterable[Settlement], as_of: date | None = None
               ) -> OpenItems:
    """Documents dated on or before `as_of` and settlements made on or before it (all when None)."""
    docs = {d.document_id: d for d in documents if as_of is None or d.document_date <= as_of}
    settled: dict[str, Decimal] = dict.fromkeys(docs, ZERO)
    unapplied: dict[str, Decimal] = {}
    for s in sorted((s for s in settlements if as_of is None or s.settled_on <= as_of),
                    key=lambda s: (s.settled_on, s.settlement_id)):
        left = s.amount
        for a in s.allocations:
            doc = docs.get(a.document_id)
            if doc is None or doc.party != s.party:
                continue  # stays unapplied: not lost, shown on the party
            take = min(a.amount, doc.amount - settled[doc.document_id], left)
            if take > 0:
                settled[doc.document_id] += take
                left -= take
        if left:
            unapplied[s.party] = unapplied.get(s.party, ZERO) + left
    items = tuple(sorted((OpenItem(d, settled[i]) for i, d in docs.items() if d.amount > settled[i]),
                         key=lambda it: (it.document.due_date, it.document.document_id)))
    return OpenItems(items, unapplied, settled)


def bucket_of(due_date: date, as_of: date) -> str:
    days = (as_of - due_date).days
    if days <= 0:
        return "current"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"


@dataclass(frozen=True)
class AgeingRow:
    party: str
    buckets: Mapping[str, Decimal]
    unapplied: Decimal

    @property
    def total(self) -> Decimal:
        """What the party is owed (or owes) net of unapplied cash."""
        return sum(self.buckets.values(), ZERO) - self.unapplied


@dataclass(frozen=True)
class Ageing:
    as_of: date
    rows: tuple[AgeingRow, ...]  # one per party, by party
    items: tuple[tuple[OpenItem, str], ...] = field(default=())  # each open item with its bucket

    @property
    def totals(self) -> dict[str, Decimal]:
        return {b: sum((r.buckets[b] for r in self.rows), ZERO) for b in BUCKETS}

    @property
    def unapplied(self) -> Decimal:
        return sum((r.unapplied for r in self.rows), ZERO)

    @property
    def total(self) -> Decimal:
        return sum(self.totals.values(), ZERO) - self.unapplied


def ageing(documents: Iterable[Document], settlements: Iterable[Settlement], as_of: date) -> Ageing:
    """Open amounts per party and bucket at `as_of`, counting only what was dated by then."""
    opened = open_items(documents, settlements, as_of)
    per_party: dict[str, dict[str, Decimal]] = {}
    placed: list[tuple[OpenItem, str]] = []
    for item in opened.items:
        bucket = bucket_of(item.document.due_date, as_of)
        row = per_party.setdefault(item.document.party, dict.fromkeys(BUCKETS, ZERO))
        row[bucket] += item.open
        placed.append((item, bucket))
    for party in opened.unapplied:
        per_party.setdefault(party, dict.fromkeys(BUCKETS, ZERO))
    rows = tuple(AgeingRow(p, b, opened.unapplied.get(p, ZERO)) for p, b in sorted(per_party.items()))
    return Ageing(as_of, rows, tuple(placed))


def ageing_csv_rows(report: Ageing) -> list[list[str]]:
    """The report as CSV rows (header, one row per party, the total): the desktop's export and any hub export
    write the same figures."""
    out = [["party", *BUCKETS, "unapplied", "total"]]
    for r in report.rows:
        out.append([r.party, *(str(r.buckets[b]) for b in BUCKETS), str(r.unapplied), str(r.total)])
    totals = report.totals
    out.append(["TOTAL", *(str(totals[b]) for b in BUCKETS), str(report.unapplied), str(report.total)])
    return out
