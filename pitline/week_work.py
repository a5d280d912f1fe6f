"""What people type in a site office during the offline week, and what a serial replay of it predicts.

Each generator writes drafts into an office's encrypted store exactly as the desktop's forms do (the
mutation path: outbox + optimistic local effect) and books the expected end state in `Expected`, so the
checks compare the hub with an independent prediction, not with itself."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from shared.domain.inventory import stock_record_id
from shared.store import DeviceIdentity, KeyProvider, LocalStore, MutationDraft

OPENING_STOCK = 1000
TRANSFER_QTY = 20  # shipped on day 0 to the site's workshop store; both offices book it in offline
LAST_DELIVERY = 50  # a one-line PO both offices receive in full offline
WEEK_START = date(2026, 11, 2)


@dataclass
class Office:
    name: str
    site: str
    tenant: str
    path: Path
    key: KeyProvider
    machines: list[str]  # the fleet this office's supervisors log hours for
    queued: int = 0

    def open(self) -> LocalStore:
        store = LocalStore.open(self.path, self.key)
        if store.identity is None:
            store.set_identity(DeviceIdentity(self.name, self.tenant, self.site))
        return store


@dataclass
class Expected:
    """The end state a serial replay of everything typed predicts, per site."""

    stock: dict[str, Decimal] = field(default_factory=dict)  # stock record id -> on hand
    hours: Counter[str] = field(default_factory=Counter)  # site -> Σ logged operating hours (manual)
    usage_logs: Counter[str] = field(default_factory=Counter)  # site -> manual usage logs
    breakdowns: Counter[str] = field(default_factory=Counter)
    movements: Counter[str] = field(default_factory=Counter)
    received: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (po, line) -> quantity received
    approved_requests: set[str] = field(default_factory=set)
    held: Counter[str] = field(default_factory=Counter)  # site -> second receipts the hub must hold for a person
    doubled: set[str] = field(default_factory=set)  # sites whose single booking is already in the prediction


def items_of(site: str, count: int) -> list[str]:
    return [f"{site.upper()}-ITEM-{n:03}" for n in range(1, count + 1)]


def fleet_of(site: str, count: int) -> list[str]:
    return [f"{site[:1].upper()}{('DT', 'EX', 'DZ')[n % 3]}{n + 1:03}" for n in range(count)]


def register_site(office: Office, fleet: list[str], items: list[str], expected: Expected) -> None:
    """Day 0, online: the first office registers the fleet, the store's bins and the week's purchase order."""
    site = office.site
    drafts = [MutationDraft("equipment.unit", unit, "create", {
        "fleet_no": unit, "equipment_class": {"DT": "truck", "EX": "excavator", "DZ": "dozer"}[unit[1:3]],
        "make": "CAT", "status": "operating"}, "supervisor") for unit in fleet]
    for item in items:
        record = stock_record_id(site, item)
        drafts.append(MutationDraft("inventory.movement", f"OPEN-{record}", "create", {
            "kind": "receipt", "store_id": site, "item_id": item, "quantity": OPENING_STOCK,
            "occurred_at": f"{WEEK_START - timedelta(days=1)}T06:00:00+00:00", "unit_cost": 12.5}, "storeman"))
        expected.stock[record] = Decimal(OPENING_STOCK)
        expected.movements[site] += 1
    drafts.append(MutationDraft("inventory.movement", f"TR-OUT-{site}", "create", {
        "kind": "transfer_out", "store_id": site, "item_id": items[0], "quantity": TRANSFER_QTY, "unit_cost": 12.5,
        "transfer_id": f"TR-{site}", "to_store_id": workshop(site),
        "occurred_at": f"{WEEK_START - timedelta(days=1)}T09:00:00+00:00"}, "storeman"))
    expected.stock[stock_record_id(site, items[0])] -= TRANSFER_QTY
    expected.movements[site] += 1
    drafts.append(MutationDraft("procurement.purchase_order", f"PO-{site}-LAST", "create", {
        "vendor_id": "V-ACME", "total": LAST_DELIVERY * 12, "lines": [
            {"line_id": "1", "item_id": items[1], "store_id": site, "quantity": LAST_DELIVERY, "unit_price": 12}]},
        "buyer"))
    lines = [{"line_id": str(n), "item_id": item, "store_id": site, "quantity": 400, "unit_price": 12}
             for n, item in enumerate(items[:5], start=1)]
    drafts += [
        MutationDraft("procurement.purchase_order", f"PO-{site}", "create",
                      {"vendor_id": "V-ACME", "lines": lines, "total": sum(400 * 12 for _ in lines)}, "buyer"),
        MutationDraft("approvals.chain", f"CHAIN-{site}", "create", {
            "document_type": "procurement.purchase_order", "site_id": site,
            "levels": [{"min_amount": 0, "approver_user": f"sup-{site}"},
                       {"min_amount": 10000, "approver_user": f"mgr-{site}"}]}, "administrator"),
        MutationDraft("approvals.request", f"REQ-{site}", "create", {
            "document_type": "procurement.purchase_order", "document_id": f"PO-{site}",
            "amount": sum(400 * 12 for _ in lines), "requested_by": "buyer"}, "buyer"),
    ]
    _enqueue(office, drafts)


def workshop(site: str) -> str:
    return f"{site}-WS"


def receive_the_same_delivery(office: Office, items: list[str], expected: Expected) -> list[MutationDraft]:
    """Both offices of a site book day 0's transfer and the last PO's whole delivery, each not knowing of the
    other: the hub books one of each and holds the other office's for a person (D27)."""
    site, at = office.site, f"{WEEK_START}T07:30:00+00:00"
    receipt_id = f"LAST-{office.name}"
    drafts = [
        MutationDraft("inventory.movement", f"TR-IN-{office.name}", "create", {
            "kind": "transfer_in", "store_id": workshop(site), "item_id": items[0], "quantity": TRANSFER_QTY,
            "unit_cost": 12.5, "transfer_id": f"TR-{site}", "occurred_at": at}, "storeman"),
        MutationDraft("inventory.movement", receipt_id, "create", {
            "kind": "receipt", "store_id": site, "item_id": items[1], "quantity": LAST_DELIVERY, "unit_cost": 12,
            "occurred_at": at, "po_id": f"PO-{site}-LAST", "po_line_id": "1"}, "storeman"),
        MutationDraft("procurement.goods_receipt", f"GR-{receipt_id}", "create", {
            "po_id": f"PO-{site}-LAST", "line_id": "1", "item_id": items[1], "store_id": site,
            "quantity": LAST_DELIVERY, "unit_price": 12, "received_at": at, "movement_id": receipt_id}, "storeman"),
    ]
    if site in expected.doubled:
        expected.held[site] += 2  # the transfer_in and the receipt (its goods receipt follows the receipt)
    else:
        expected.doubled.add(site)
        ws = stock_record_id(workshop(site), items[0])
        expected.stock[ws] = expected.stock.get(ws, Decimal(0)) + TRANSFER_QTY
        expected.stock[stock_record_id(site, items[1])] += LAST_DELIVERY
        expected.movements[site] += 2
    return drafts


def work_offline(office: Office, days: int, moves_per_day: int, items: list[str], rnd: random.Random,
                 expected: Expected, *, approver_level: int | None) -> None:
    """A week without network: the same delivery booked at both offices, hours for every shift, breakdowns,
    stock issued and received, a PO approved."""
    site = office.site
    drafts: list[MutationDraft] = receive_the_same_delivery(office, items, expected)
    for d in range(days):
        day = WEEK_START + timedelta(days=d)
        for unit in office.machines:
            for shift in ("day", "night"):
                worked = round(rnd.uniform(5, 11), 1)
                drafts.append(MutationDraft("equipment.usage_log", f"{unit}:{day}:{shift}:manual", "create", {
                    "equipment_id": unit, "shift_date": str(day), "shift": shift,
                    "operator": f"op-{rnd.randint(1, 60)}", "operating_hours": worked,
                    "standby_hours": round(12 - worked, 1), "source": "manual"}, "supervisor"))
                expected.hours[site] += Decimal(str(worked))  # type: ignore[assignment]
                expected.usage_logs[site] += 1
        if office.machines and rnd.random() < 0.6:
            drafts.append(MutationDraft("equipment.breakdown", f"BD-{office.name}-{d}", "create", {
                "equipment_id": rnd.choice(office.machines), "started_at": f"{day}T09:30:00+08:00",
                "cause": "hydraulic hose", "severity": "medium", "source": "manual"}, "supervisor"))
            expected.breakdowns[site] += 1
        for n in range(moves_per_day):
            drafts += _stock_move(office, f"{d}-{n}", day, items, rnd, expected)
    if approver_level is not None:
        by = f"sup-{site}" if approver_level == 0 else f"mgr-{site}"
        drafts.append(MutationDraft("approvals.decision", f"DEC-{site}-{approver_level}", "create", {
            "request_id": f"REQ-{site}", "level": approver_level, "verdict": "approve", "by": by,
            "at": f"{WEEK_START + timedelta(days=1)}T10:00:00+00:00", "amount": 24000}, by))
    _enqueue(office, drafts)


def _stock_move(office: Office, tag: str, day: date, items: list[str], rnd: random.Random,
                expected: Expected) -> list[MutationDraft]:
    """One issue to a work order, or a partial receipt against the site's PO: a ledger row (the hub moves the
    bin's balance by it, D27) and, for a receipt, its goods receipt."""
    site = office.site
    movement_id = f"MV-{office.name}-{tag}"
    at = f"{day}T{rnd.randint(6, 17):02}:{rnd.randint(0, 59):02}:00+00:00"
    po_line = rnd.randint(1, 5)
    receiving = rnd.random() < 0.15 and expected.received.get((f"PO-{site}", str(po_line)), Decimal(0)) < 380
    if receiving:
        item = items[po_line - 1]
        qty = Decimal(rnd.randint(1, 20))
        payload: dict[str, object] = {"kind": "receipt", "store_id": site, "item_id": item, "quantity": int(qty),
                                      "occurred_at": at, "unit_cost": 12, "po_id": f"PO-{site}",
                                      "po_line_id": str(po_line)}
        key = (f"PO-{site}", str(po_line))
        expected.received[key] = expected.received.get(key, Decimal(0)) + qty
    else:
        item = rnd.choice(items)
        qty = Decimal(rnd.randint(1, 6))
        payload = {"kind": "issue", "store_id": site, "item_id": item, "quantity": int(qty), "occurred_at": at,
                   "work_order_id": f"WO-{site}-{rnd.randint(1, 40)}"}
    record = stock_record_id(site, item)
    delta = qty if receiving else -qty
    expected.stock[record] += delta
    expected.movements[site] += 1
    drafts = [MutationDraft("inventory.movement", movement_id, "create", payload, "storeman")]  # the hub keeps the bin
    if receiving:
        drafts.append(MutationDraft("procurement.goods_receipt", f"GR-{movement_id}", "create", {
            "po_id": f"PO-{site}", "line_id": str(po_line), "item_id": item, "store_id": site,
            "quantity": int(qty), "unit_price": 12, "received_at": at, "movement_id": movement_id}, "storeman"))
    return drafts


def _enqueue(office: Office, drafts: list[MutationDraft]) -> None:
    store = office.open()
    try:
        for start in range(0, len(drafts), 2000):
            store.enqueue_many(drafts[start : start + 2000])
    finally:
        store.close()
    office.queued += len(drafts)
