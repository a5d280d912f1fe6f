"""Seed data for a realistic site: machines, items, vendors, PM plans, and two years of history made
with the same domain rules the suite runs (reorder points raise requisitions and POs, receipts arrive
after a lead time, partly; PM plans raise work orders as the hour meters move; stock issues never take
more than the shelf holds). Pure and deterministic: the same `SiteSpec` yields the same drafts, ids
included, so demos and benchmarks are reproducible.

`SeedDraft` has the attributes of `shared.store.MutationDraft` (entity, entity_id, op, payload, actor,
site_id): a loader turns each into one, or into a hub push, without this module doing any I/O.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from shared.domain import inventory as inv
from shared.domain import pm
from shared.domain.approvals import Chain, Level, route
from shared.domain.finance import money
from shared.domain.procurement import RequisitionLine, StockItem, purchase_orders_from_requisition, reorder_lines
from shared.domain.seed_catalogue import (
    CLASS_MIX,
    ITEM_WORDS,
    MAKES,
    NAMES,
    VENDOR_WORDS,
)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PO_CHAIN = Chain("procurement.purchase_order", (
    Level(Decimal(0), approver_user="supervisor"),
    Level(Decimal(10_000), approver_user="site_manager"),
    Level(Decimal(100_000), approver_role="general_manager"),
))


@dataclass(frozen=True)
class SeedDraft:
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any]
    actor: str
    site_id: str | None = None


@dataclass(frozen=True)
class SiteSpec:
    seed: int = 1
    machines: int = 120
    items: int = 5_000
    vendors: int = 40
    days: int = 730
    start: date = date(2024, 11, 1)
    site_id: str = "site-1"
    issues_per_day: int = 40
    breakdowns_per_day: float = 2.0


def generate(spec: SiteSpec = SiteSpec()) -> Iterator[SeedDraft]:
    """Every draft of the site, master data first, then the history day by day."""
    yield from _Site(spec).run()


@dataclass
class _Machine:
    id: str
    fleet_no: str
    equipment_class: str
    hours: float
    daily_hours: float
    plans: list[pm.PmPlan] = field(default_factory=list)


class _Site:
    def __init__(self, spec: SiteSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.clock_ms = int(datetime.combine(spec.start, time(), UTC).timestamp() * 1000)
        self.stores = {"main": "store-main", "workshop": "store-workshop", "fuel": "store-fuel"}
        self.items: list[dict[str, Any]] = []
        self.item_ids: list[str] = []
        self.weights: list[float] = []
        self._cum_weights: list[float] = []
        self.vendor_ids: list[str] = []
        self.machines: list[_Machine] = []
        self.positions: dict[tuple[str, str], inv.Position] = {}
        self.on_order: dict[tuple[str, str], Decimal] = {}
        self.deliveries: dict[date, list[tuple[str, dict[str, Any], Decimal]]] = {}
        self.invoices: dict[date, list[tuple[str, str, dict[str, Any], Decimal]]] = {}
        self.last_done: dict[str, pm.LastDone] = {}
        self.open_pm: dict[str, tuple[str, str]] = {}  # plan id -> (work order id, raised status)
        self.now = datetime.combine(spec.start, time(6), UTC)
        self.transfers: dict[date, list[tuple[str, str, Decimal, Decimal]]] = {}
        self.wo_count = 0
        self.po_count = 0

    # --- helpers ----------------------------------------------------------------------------------
    def id(self, at: datetime | None = None) -> str:
        """A ULID made from the history's clock and the seeded generator: sortable and reproducible."""
        ms = int(at.timestamp() * 1000) if at is not None else self.clock_ms
        value = (ms << 80) | self.rng.getrandbits(80)
        return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))

    def draft(self, entity: str, entity_id: str, payload: dict[str, Any], actor: str, op: str = "create") -> SeedDraft:
        return SeedDraft(entity, entity_id, op, payload, actor, self.spec.site_id)

    def tick(self) -> datetime:
        """The next moment of the day: stock movements happen in the order they are made, so the
        generator's running balances are the ledger's balances in time order."""
        self.now += timedelta(seconds=self.rng.randint(10, 120))
        return self.now

    def pick_item(self) -> str:
        """An item, the busy ones more often (cumulative weights computed once: 50,000 items stay fast)."""
        if len(self._cum_weights) != len(self.weights):
            self._cum_weights = list(itertools.accumulate(self.weights))
        return self.rng.choices(self.item_ids, cum_weights=self._cum_weights)[0]

    def person(self) -> str:
        return self.rng.choice(NAMES)

    # --- master data ------------------------------------------------------------------------------
    def run(self) -> Iterator[SeedDraft]:
        yield from self.master_data()
        day0 = self.spec.start
        yield from self.opening_stock(day0)
        for n in range(self.spec.days):
            yield from self.day(day0 + timedelta(days=n))

    def master_data(self) -> Iterator[SeedDraft]:
        rng = self.rng
        for kind, store_id in self.stores.items():
            yield self.draft("inventory.store", store_id, {"code": kind.upper()[:4], "name": f"{kind.title()} store",
                                                           "kind": "main" if kind == "main" else
                                                           ("workshop" if kind == "workshop" else "fuel_farm"),
                                                           "active": True}, "admin")
        for n in range(self.spec.vendors):
            vid = f"vendor-{n + 1:03d}"
            self.vendor_ids.append(vid)
            words = rng.sample(VENDOR_WORDS, 2)
            yield self.draft("procurement.vendor", vid, {
                "code": f"V{n + 1:03d}", "name": f"{words[0]} {words[1]} Pty Ltd", "currency": "AUD",
                "payment_terms_days": rng.choice((14, 30, 45, 60)), "active": True}, "admin")
        for n in range(self.spec.items):
            yield self.make_item(n)
        for n in range(self.spec.machines):
            yield from self.make_machine(n)
        yield self.draft("approvals.chain", "chain-po", {
            "document_type": "procurement.purchase_order", "name": "Purchase orders", "active": True,
            "levels": [{"min_amount": float(lv.min_amount), "approver_user": lv.approver_user,
                        "approver_role": lv.approver_role} for lv in PO_CHAIN.levels]}, "admin")

    def make_item(self, n: int) -> SeedDraft:
        rng = self.rng
        category, unit, nouns, price_range = rng.choice(ITEM_WORDS)
        item_id = f"item-{n + 1:05d}"
        price = round(rng.lognormvariate(0, 1) * price_range, 2) + 0.5
        reorder = rng.choice((2, 4, 5, 10, 20, 50)) if unit == "ea" else rng.choice((50, 100, 200))
        payload = {
            "code": f"IT-{n + 1:05d}",
            "description": f"{rng.choice(nouns)} {rng.choice(MAKES)} {rng.randint(100, 9999)}",
            "unit": unit, "category": category, "min_qty": reorder // 2, "reorder_point": reorder,
            "max_qty": reorder * rng.choice((2, 3, 4)), "preferred_vendor_id": rng.choice(self.vendor_ids),
            "standard_price": price, "active": True,
        }
        self.items.append(payload | {"id": item_id})
        self.item_ids.append(item_id)
        self.weights.append(1.0 / (n % 500 + 1))  # a few items move a lot, most rarely: like a real store
        return self.draft("inventory.item", item_id, payload, "admin")

    def make_machine(self, n: int) -> Iterator[SeedDraft]:
        rng = self.rng
        cls, prefix, util = CLASS_MIX[n % len(CLASS_MIX)]
        machine = _Machine(f"equip-{n + 1:03d}", f"{prefix}{n + 1:03d}", cls, float(rng.randint(500, 20_000)),
                           util * rng.uniform(0.8, 1.1))
        self.machines.append(machine)
        yield self.draft("equipment.unit", machine.id, {
            "fleet_no": machine.fleet_no, "equipment_class": cls, "make": rng.choice(MAKES),
            "model": f"{prefix}{rng.randint(1, 9)}{rng.randint(0, 9)}", "serial": f"SN{rng.getrandbits(32):08X}",
            "status": "operating", "rental": False}, "admin")
        start_hours = machine.hours - machine.hours % 250
        plans = [
            pm.PmPlan(f"pm-{machine.id}-250h", pm.Trigger.HOURS, pm.Schedule.FIXED, interval_hours=250,
                      lead_hours=25, start_hours=start_hours),
            pm.PmPlan(f"pm-{machine.id}-insp", pm.Trigger.EITHER, pm.Schedule.FLOATING, interval_hours=1_000,
                      interval_days=90, lead_days=7, lead_hours=50, start_hours=machine.hours,
                      start_date=self.spec.start - timedelta(days=rng.randint(0, 89))),
        ]
        machine.plans = plans
        for plan in plans:
            yield self.draft("maintenance.pm_plan", plan.id, {
                "equipment_id": machine.id, "title": "250 h service" if plan.trigger is pm.Trigger.HOURS
                else "Quarterly inspection", "trigger": plan.trigger.value, "schedule": plan.schedule.value,
                **({"interval_hours": plan.interval_hours} if plan.interval_hours else {}),
                **({"interval_days": plan.interval_days} if plan.interval_days else {}),
                "lead_hours": plan.lead_hours, "lead_days": plan.lead_days, "start_hours": plan.start_hours,
                **({"start_date": plan.start_date.isoformat()} if plan.start_date else {}), "active": True}, "admin")

    def opening_stock(self, day: date) -> Iterator[SeedDraft]:
        at = datetime.combine(day, time(6), UTC)
        for item in self.items:
            qty = self.rng.randint(int(item["reorder_point"]) + 1, int(item["max_qty"]))
            yield self.movement(inv.MovementKind.RECEIPT, self.stores["main"], item["id"], Decimal(qty), at,
                                unit_cost=Decimal(str(item["standard_price"])), note="opening balance", by="admin")

    def movement(self, kind: inv.MovementKind, store_id: str, item_id: str, qty: Decimal, at: datetime, *,
                 unit_cost: Decimal | None = None, by: str, **extra: Any) -> SeedDraft:
        mid = self.id(at)
        m = inv.Movement(mid, kind, store_id, item_id, qty, at.isoformat(), unit_cost, extra.get("transfer_id"))
        self.positions[m.key] = inv.value_movement(self.positions.get(m.key, inv.Position()), m)
        payload: dict[str, Any] = {"kind": kind.value, "store_id": store_id, "item_id": item_id,
                                   "quantity": float(qty), "occurred_at": at.isoformat(), "by": by}
        if unit_cost is not None:
            payload["unit_cost"] = float(unit_cost)
        payload.update({k: v for k, v in extra.items() if v is not None})
        return self.draft("inventory.movement", mid, payload, by)

    # --- one day of history -----------------------------------------------------------------------
    def day(self, today: date) -> Iterator[SeedDraft]:
        from shared.domain.seed_history import day_of_history  # the history needs this class: import late

        self.now = datetime.combine(today, time(6), UTC)
        self.clock_ms = int(self.now.timestamp() * 1000)
        yield from day_of_history(self, today)

    def reorder(self, today: date) -> Iterator[SeedDraft]:
        """Weekly: the reorder rule raises a requisition; one PO per vendor, approved, delivered later."""
        main = self.stores["main"]
        stock_items = [
            StockItem(it["id"], main, Decimal(it["reorder_point"]), Decimal(it["max_qty"]),
                      preferred_vendor_id=it["preferred_vendor_id"]) for it in self.items
        ]
        on_hand = {k: p.quantity for k, p in self.positions.items()}
        lines = reorder_lines(stock_items, on_hand, self.on_order)
        if not lines:
            return
        at = datetime.combine(today, time(7), UTC)
        req_id = self.id(at)
        yield self.draft("procurement.requisition", req_id, {
            "requested_by": "storeman", "source": "reorder", "status": "ordered",
            "lines": [_req_line(ln) for ln in lines]}, "storeman")
        prices = {it["id"]: Decimal(str(it["standard_price"])) for it in self.items}
        for vendor, po_lines in purchase_orders_from_requisition(lines, prices).items():
            yield from self.purchase_order(today, at, vendor, req_id, po_lines)

    def purchase_order(self, today: date, at: datetime, vendor: str, req_id: str, po_lines: list[Any]) -> Iterator[
            SeedDraft]:
        self.po_count += 1
        po_id = self.id(at)
        total = sum((ln.amount for ln in po_lines), Decimal(0))
        yield self.draft("procurement.purchase_order", po_id, {
            "number": f"PO{self.po_count:06d}", "vendor_id": vendor, "currency": "AUD", "requisition_id": req_id,
            "total": float(total), "approval": "approved", "issued_at": (at + timedelta(hours=3)).isoformat(),
            "lines": [{"line_id": ln.line_id, "item_id": ln.item_id, "store_id": ln.store_id,
                       "quantity": float(ln.quantity), "unit_price": float(ln.unit_price)} for ln in po_lines]},
            "buyer")
        request_id = self.id(at)
        yield self.draft("approvals.request", request_id, {
            "document_type": "procurement.purchase_order", "document_id": po_id, "amount": float(total),
            "requested_by": "buyer", "requested_at": at.isoformat(), "title": f"PO{self.po_count:06d}"}, "buyer")
        for level, step in enumerate(route([PO_CHAIN], PO_CHAIN.document_type, total)):
            who = step.approver_user or "gm"
            roles = [step.approver_role] if step.approver_role else []
            yield self.draft("approvals.decision", self.id(at), {
                "request_id": request_id, "level": level, "verdict": "approve", "by": who, "roles": roles,
                "at": (at + timedelta(hours=1 + level)).isoformat(), "amount": float(total)}, who)
        lead = self.rng.randint(3, 14)
        for ln in po_lines:
            key = (ln.store_id, ln.item_id)
            self.on_order[key] = self.on_order.get(key, Decimal(0)) + ln.quantity
            first = ln.quantity
            if ln.quantity >= 4 and self.rng.random() < 0.15:  # partial delivery, the rest a week later
                first = (ln.quantity / 2).to_integral_value()
                rest = {"po_id": po_id, "line": ln}
                later = today + timedelta(days=lead + 7)
                self.deliveries.setdefault(later, []).append((vendor, rest, ln.quantity - first))
            self.deliveries.setdefault(today + timedelta(days=lead), []).append(
                (vendor, {"po_id": po_id, "line": ln}, first))

    def receive(self, today: date) -> Iterator[SeedDraft]:
        for vendor, ref, qty in self.deliveries.pop(today, []):
            at = self.tick()
            ln = ref["line"]
            key = (ln.store_id, ln.item_id)
            self.on_order[key] = self.on_order.get(key, Decimal(0)) - qty
            mv = self.movement(inv.MovementKind.RECEIPT, ln.store_id, ln.item_id, qty, at, unit_cost=ln.unit_price,
                               by="storeman", po_id=ref["po_id"], po_line_id=ln.line_id)
            yield mv
            gr_id = self.id(at)
            yield self.draft("procurement.goods_receipt", gr_id, {
                "po_id": ref["po_id"], "line_id": ln.line_id, "item_id": ln.item_id, "store_id": ln.store_id,
                "quantity": float(qty), "unit_price": float(ln.unit_price), "received_at": at.isoformat(),
                "received_by": "storeman", "movement_id": mv.entity_id}, "storeman")
            # No journal record: the hub posts the ledger from the receipt movement and the invoice (D75).
            self.invoices.setdefault(today + timedelta(days=self.rng.randint(2, 20)), []).append(
                (vendor, ref["po_id"], {"line": ln}, qty))

    def invoice(self, today: date) -> Iterator[SeedDraft]:
        for vendor, po_id, ref, qty in self.invoices.pop(today, []):
            ln = ref["line"]
            price = ln.unit_price if self.rng.random() < 0.9 else money(ln.unit_price * Decimal("1.01"))
            inv_id = self.id()
            yield self.draft("finance.vendor_invoice", inv_id, {
                "vendor_id": vendor, "invoice_no": f"INV{self.rng.getrandbits(24):07d}", "po_id": po_id,
                "invoice_date": today.isoformat(), "currency": "AUD", "status": "posted",
                "lines": [{"po_line_id": ln.line_id, "quantity": float(qty), "unit_price": float(price)}]}, "ap_clerk")


def _req_line(ln: RequisitionLine) -> dict[str, Any]:
    return {"item_id": ln.item_id, "store_id": ln.store_id, "quantity": float(ln.quantity), "vendor_id": ln.vendor_id}
