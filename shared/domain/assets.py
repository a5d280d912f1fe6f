"""The fixed-asset register on equipment and the monthly depreciation run, as pure functions.

An asset (`finance.asset`) is one machine's book record: cost, salvage, the date it went into service, and a
method: `straight_line` over `life_months`, or `units_of_production` over `rated_hours` of engine time
(`usage_hours`: the machine's engine hours from its in-service date to the end of the month).

The run for a month (`depreciation_run`) gives each asset one entry, `depreciation:<asset>:<YYYY-MM>`, dated the
month's last day, charging the depreciation to date minus everything charged before (`depreciation.py`). So a
month that was never run is caught up by the next one that is (D42): running December first for an asset in
service since October charges October to December in December's entry. It refuses nothing silently; an asset
gets no entry, with the reason, when
- its month is already posted (a run is idempotent per asset × month: posted entries are never recomputed, even
  if late hours arrived since; those are charged by the next month),
- a later month is already posted (the run goes forward only: an earlier month would double the catch-up),
- it is not in service by the month's end, is fully depreciated, or has no hours to charge this month.

Acquisition and disposal (D66, D67):
- An asset whose record says how it was paid (`paid_from`: `payable` or `bank`) posts its acquisition once,
  `asset_acquisition:<asset>` on `acquired_on` (else the in-service date): Dr 1500 plant at cost / Cr 2100 AP or
  1100 bank. Without `paid_from` the asset came in with the opening balances and posts no acquisition.
- Bought on account, the asset is its vendor's invoice in AP (D89): it names `vendor_id` and `invoice_no` (and
  may state `due_date`), and `payable_document` is its open item (kind "asset") that payments allocate to.
- A disposal (`disposed_on`, `proceeds`) first charges the depreciation still due up to and including the
  disposal month (`depreciation:<asset>:<YYYY-MM>`, the run's key, dated the disposal day), then posts
  `asset_disposal:<asset>`: Dr 1590 the accumulated depreciation, Dr 1100 the proceeds, Cr 1500 the cost, and the
  difference to 4900 (credit a gain, debit a loss). The run charges nothing for the disposal month or after.
  A disposal dated before a month already depreciated is refused (depreciation after the asset left).

Strategy: `finance.asset` is field_merge master data (finance keeps the register; fields edited on two desks
merge, a same-field clash goes to the person).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.conflicts import Strategy
from shared.domain.accounts import dims
from shared.domain.depreciation import Asset, straight_line, units_of_production
from shared.domain.finance import ZERO, money
from shared.domain.finance_errors import DepreciationError
from shared.domain.journal import LedgerEntry, LedgerLine, credit, debit
from shared.domain.open_items import Document
from shared.domain.periods import Period
from shared.domain.postings import ACCOUNTS, DISPOSAL, depreciation_entry
from shared.domain.usage_hours import UsageShift, engine_hours
from shared.entities import EntitySpec, FieldSpec, register

ASSET = "finance.asset"
METHODS = ("straight_line", "units_of_production")
PAID_FROM = ("payable", "bank")


@dataclass(frozen=True)
class RegisteredAsset:
    asset_id: str
    equipment_id: str
    site: str
    book: Asset  # cost and salvage
    in_service: date
    method: str
    life_months: int | None = None
    rated_hours: Decimal | None = None
    paid_from: str | None = None  # payable | bank; None: brought in with the opening balances
    acquired_on: date | None = None
    disposed_on: date | None = None
    proceeds: Decimal = ZERO
    vendor_id: str = ""  # bought on account (D89): whose invoice the payable is, its number and due date
    invoice_no: str = ""
    due_date: date | None = None  # None: from the vendor's terms (D40)


def month_end(period: Period) -> date:
    return date(period.year, period.month, calendar.monthrange(period.year, period.month)[1])


def _amount(raw: object, what: str, field_name: str, *, zero_ok: bool) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise DepreciationError(f"{what} is written as text in cents, e.g. \"250000.00\"",
                                {field_name: "write the amount as text, e.g. 250000.00"})
    try:
        value = Decimal(raw)
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or (value == 0 and not zero_ok) or value != money(value):
        raise DepreciationError(f"{what} {raw!r} is not an amount in whole cents" +
                                ("" if zero_ok else " above 0.00"), {field_name: "whole cents, not negative"})
    return money(value)


def asset_from_payload(asset_id: str, payload: Mapping[str, Any], site: str) -> RegisteredAsset:
    equipment = str(payload.get("equipment_id") or "")
    if not equipment:
        raise DepreciationError(f"asset {asset_id} names no machine", {"equipment_id": "is required"})
    try:
        in_service = date.fromisoformat(str(payload.get("in_service") or ""))
    except ValueError:
        raise DepreciationError(f"asset {asset_id}: in-service date {payload.get('in_service')!r} is not a date",
                                {"in_service": "must be YYYY-MM-DD"}) from None
    cost = _amount(payload.get("cost"), "cost", "cost", zero_ok=False)
    salvage = _amount(payload.get("salvage") or "0", "salvage value", "salvage", zero_ok=True)
    book = Asset(asset_id, cost, salvage)
    method = str(payload.get("method") or "")
    if method == "straight_line":
        life = payload.get("life_months")
        if isinstance(life, bool) or not isinstance(life, int) or life <= 0:
            raise DepreciationError(f"asset {asset_id}: straight line needs a life in whole months",
                                    {"life_months": "a whole number of months above 0"})
        asset = RegisteredAsset(asset_id, equipment, site, book, in_service, method, life_months=life)
    elif method == "units_of_production":
        rated = payload.get("rated_hours")
        if isinstance(rated, bool) or not isinstance(rated, int | float | str) or Decimal(str(rated)) <= 0:
            raise DepreciationError(f"asset {asset_id}: units of production needs the engine hours it is rated for",
                                    {"rated_hours": "hours above 0"})
        asset = RegisteredAsset(asset_id, equipment, site, book, in_service, method, rated_hours=Decimal(str(rated)))
    else:
        raise DepreciationError(f"asset {asset_id}: method {method!r} is not one of {', '.join(METHODS)}",
                                {"method": "straight_line or units_of_production"})
    return _with_life_events(asset, payload)


def _day(payload: Mapping[str, Any], name: str, what: str) -> date | None:
    if not payload.get(name):
        return None
    try:
        return date.fromisoformat(str(payload[name]))
    except ValueError:
        raise DepreciationError(f"{what} {payload[name]!r} is not a date", {name: "must be YYYY-MM-DD"}) from None


def _with_life_events(asset: RegisteredAsset, payload: Mapping[str, Any]) -> RegisteredAsset:
    """The acquisition and disposal fields, checked against each other and the in-service date."""
    paid_from = payload.get("paid_from") or None
    if paid_from is not None and paid_from not in PAID_FROM:
        raise DepreciationError(f"asset {asset.asset_id}: paid from {paid_from!r} is not payable or bank",
                                {"paid_from": "payable (a vendor's invoice) or bank"})
    acquired = _day(payload, "acquired_on", "acquisition date")
    disposed = _day(payload, "disposed_on", "disposal date")
    proceeds = _amount(payload.get("proceeds") or "0", "proceeds", "proceeds", zero_ok=True)
    if proceeds and disposed is None:
        raise DepreciationError(f"asset {asset.asset_id}: proceeds without a disposal date",
                                {"disposed_on": "when was it sold or scrapped?"})
    if disposed is not None and disposed < max(asset.in_service, acquired or asset.in_service):
        raise DepreciationError(f"asset {asset.asset_id}: disposed on {disposed}, before it was acquired or in "
                                "service", {"disposed_on": "on or after the acquisition and in-service dates"})
    vendor, invoice_no, due = _vendor_invoice(asset, payload, paid_from, acquired or asset.in_service)
    return RegisteredAsset(asset.asset_id, asset.equipment_id, asset.site, asset.book, asset.in_service,
                           asset.method, asset.life_months, asset.rated_hours, str(paid_from) if paid_from else None,
                           acquired, disposed, proceeds, vendor, invoice_no, due)


def _vendor_invoice(asset: RegisteredAsset, payload: Mapping[str, Any], paid_from: object, acquired: date
                    ) -> tuple[str, str, date | None]:
    """Bought on account, the asset is the vendor's invoice in AP (D89): it names the vendor and the vendor's
    invoice number, so the AP ageing shows it and a payment can be allocated to it."""
    vendor = str(payload.get("vendor_id") or "").strip()
    invoice_no = str(payload.get("invoice_no") or "").strip()
    due = _day(payload, "due_date", "due date")
    if paid_from != "payable":
        return vendor, invoice_no, due
    if not vendor:
        raise DepreciationError(f"asset {asset.asset_id} is bought on account but names no vendor",
                                {"vendor_id": "bought on account: which vendor's invoice is it?"})
    if not invoice_no:
        raise DepreciationError(f"asset {asset.asset_id} is bought on account but names no vendor invoice number",
                                {"invoice_no": "bought on account: the vendor's invoice number"})
    if due is not None and due < acquired:
        raise DepreciationError(f"asset {asset.asset_id}: due date {due} is before the acquisition on {acquired}",
                                {"due_date": f"on or after {acquired}"})
    return vendor, invoice_no, due


def payable_document(asset: RegisteredAsset, terms_days: int | None = None) -> Document | None:
    """The AP open item of an asset bought on account (kind "asset", D89): the acquisition's credit to 2100, owed
    to its vendor from the acquisition date, due on its due date, else after the vendor's terms (D40). None when
    the asset is not on account. Its id is the asset's: a payment allocates to it like to any invoice."""
    if asset.paid_from != "payable":
        return None
    on = asset.acquired_on or asset.in_service
    due = asset.due_date or on + timedelta(days=terms_days or 0)
    return Document(asset.asset_id, asset.vendor_id, on, due, asset.book.cost, asset.invoice_no, kind="asset")


def acquisition_entry(asset: RegisteredAsset) -> LedgerEntry | None:
    """Dr 1500 plant at cost / Cr AP or bank, once per asset (None: the asset came with the opening balances)."""
    if asset.paid_from is None:
        return None
    on = asset.acquired_on or asset.in_service
    paid = ACCOUNTS.payable if asset.paid_from == "payable" else ACCOUNTS.bank
    memo = f"acquisition of {asset.equipment_id}"
    return LedgerEntry(f"asset_acquisition:{asset.asset_id}", on, (
        debit(ACCOUNTS.fixed_assets, asset.book.cost, dims(site=asset.site, equipment=asset.equipment_id), memo),
        credit(paid, asset.book.cost, dims(site=asset.site), memo)), "asset acquisition")


def disposal_entries(asset: RegisteredAsset, accumulated: Decimal, last_posted: Period | None,
                     hours: Decimal | None) -> list[LedgerEntry]:
    """The depreciation still due to the disposal month (if any), then the disposal entry. `accumulated` and
    `last_posted` are the asset's posted depreciation; `hours` its engine hours to the disposal day (units of
    production). Refused when a month after the disposal month is already depreciated."""
    on = asset.disposed_on
    if on is None:
        return []
    month = Period.of(on)
    if last_posted is not None and last_posted > month:
        raise DepreciationError(
            f"asset {asset.asset_id} is depreciated to {last_posted}, after its disposal on {on}; reverse the later "
            "months' depreciation first or correct the disposal date", {"disposed_on": f"depreciated to {last_posted}"})
    out: list[LedgerEntry] = []
    if last_posted is None or last_posted < month:
        due = charge_for(asset, month, accumulated, hours) if accumulated < asset.book.depreciable else ZERO
        if due > 0:
            out.append(depreciation_entry(asset.asset_id, month, on, due, asset.site, asset.equipment_id))
            accumulated += due
    site, both = dims(site=asset.site), dims(site=asset.site, equipment=asset.equipment_id)
    memo = f"disposal of {asset.equipment_id}"
    gain = asset.proceeds - (asset.book.cost - accumulated)
    lines: list[LedgerLine] = [credit(ACCOUNTS.fixed_assets, asset.book.cost, both, memo)]
    if accumulated > 0:
        lines.append(debit(ACCOUNTS.accumulated_depreciation, accumulated, both, memo))
    if asset.proceeds > 0:
        lines.append(debit(ACCOUNTS.bank, asset.proceeds, site, memo))
    if gain > 0:
        lines.append(credit(DISPOSAL, gain, both, f"gain on {memo}"))
    elif gain < 0:
        lines.append(debit(DISPOSAL, -gain, both, f"loss on {memo}"))
    out.append(LedgerEntry(f"asset_disposal:{asset.asset_id}", on, tuple(lines), "asset disposal"))
    return out


def hours_to_date(assets: Iterable[RegisteredAsset], usage: Iterable[UsageShift], period: Period
                  ) -> dict[str, Decimal]:
    """Per units-of-production asset: its machine's engine hours from in service to the month's end."""
    shifts = list(usage)
    end = month_end(period)
    return {a.asset_id: engine_hours(shifts, a.equipment_id, a.in_service, end)
            for a in assets if a.method == "units_of_production"}


@dataclass(frozen=True)
class Charge:
    asset_id: str
    amount: Decimal
    entry: LedgerEntry


@dataclass(frozen=True)
class Skipped:
    asset_id: str
    reason: str


@dataclass(frozen=True)
class RunResult:
    period: Period
    charges: tuple[Charge, ...]
    skipped: tuple[Skipped, ...]

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.charges), ZERO)


def charge_for(asset: RegisteredAsset, period: Period, accumulated: Decimal, hours: Decimal | None) -> Decimal:
    if asset.method == "straight_line":
        assert asset.life_months is not None
        return straight_line(asset.book, Period.of(asset.in_service), asset.life_months, period, accumulated)
    assert asset.rated_hours is not None
    return units_of_production(asset.book, asset.rated_hours, hours or ZERO, accumulated)


def depreciation_run(assets: Iterable[RegisteredAsset], period: Period, *, accumulated: Mapping[str, Decimal],
                     last_posted: Mapping[str, Period], hours: Mapping[str, Decimal]) -> RunResult:
    """The month's entries. `accumulated`: per asset, depreciation posted so far; `last_posted`: the latest month
    posted per asset; `hours`: engine hours to date per units-of-production asset (`hours_to_date`)."""
    charges: list[Charge] = []
    skipped: list[Skipped] = []
    end = month_end(period)
    for a in sorted(assets, key=lambda a: a.asset_id):
        last = last_posted.get(a.asset_id)
        if last is not None and last >= period:
            skipped.append(Skipped(a.asset_id, f"{period} is already posted" if last == period
                                   else f"a later month ({last}) is already posted; the run goes forward only"))
            continue
        if a.in_service > end:
            skipped.append(Skipped(a.asset_id, f"not in service until {a.in_service}"))
            continue
        if a.disposed_on is not None and a.disposed_on <= end:
            skipped.append(Skipped(a.asset_id, f"disposed on {a.disposed_on} (its last month posts with the "
                                   "disposal)"))
            continue
        done = accumulated.get(a.asset_id, ZERO)
        if done >= a.book.depreciable:
            skipped.append(Skipped(a.asset_id, "fully depreciated (book value at salvage)"))
            continue
        amount = charge_for(a, period, done, hours.get(a.asset_id))
        if amount <= 0:
            skipped.append(Skipped(a.asset_id, "no engine hours to charge this month"
                                   if a.method == "units_of_production" else "nothing to charge this month"))
            continue
        charges.append(Charge(a.asset_id, amount,
                              depreciation_entry(a.asset_id, period, end, amount, a.site, a.equipment_id)))
    return RunResult(period, tuple(charges), tuple(skipped))


def _check_asset(payload: Mapping[str, Any]) -> None:
    asset_from_payload("new", payload, "")


ASSET_SPEC = register(
    EntitySpec(
        name=ASSET,
        strategy=Strategy.FIELD_MERGE,
        record_check=_check_asset,
        fields={
            "equipment_id": FieldSpec("str", required=True, label="Equipment"),
            "description": FieldSpec("str", max_length=200, label="Description"),
            "cost": FieldSpec("str", required=True, max_length=20, label="Cost"),
            "salvage": FieldSpec("str", max_length=20, label="Salvage value"),
            "in_service": FieldSpec("date", required=True, label="In service from"),
            "method": FieldSpec("str", required=True, choices=METHODS, label="Method"),
            "life_months": FieldSpec("int", min=1, max=1200, label="Useful life (months)"),
            "rated_hours": FieldSpec("number", min=0, label="Rated engine hours"),
            "paid_from": FieldSpec("str", choices=PAID_FROM, label="Acquisition paid from (payable / bank)"),
            "acquired_on": FieldSpec("date", label="Acquired on"),
            "disposed_on": FieldSpec("date", label="Disposed on"),
            "proceeds": FieldSpec("str", max_length=20, label="Disposal proceeds"),
            "vendor_id": FieldSpec("str", label="Vendor (bought on account)"),
            "invoice_no": FieldSpec("str", max_length=64, label="Vendor's invoice number (bought on account)"),
            "due_date": FieldSpec("date", label="Due date (empty: from the vendor's terms)"),
        },
    )
)
