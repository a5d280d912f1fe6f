"""The hub's poster for `finance.asset` (the posting hook, hub/finance/posting.py): a fixed asset's acquisition and
disposal post in the push that writes them, by the shared rules (`shared.domain.assets`, D66/D67).

- Acquisition (`paid_from` set): `asset_acquisition:<asset>`, Dr 1500 / Cr 2100 or 1100 at cost. A re-save posts
  nothing (a replay); a changed cost or payment account after it posted is refused (the ledger's idempotency),
  and so is taking `paid_from` away. Bought on account, the asset is its vendor's invoice in AP (D89): payments
  allocate to it (hub/finance/ap_ar.py), and its vendor cannot change once a payment is allocated to it.
- Disposal (`disposed_on`): the depreciation still due up to the disposal month, from the asset's posted
  `depreciation:` entries and, for units of production, the machine's engine hours to the disposal day; then
  `asset_disposal:<asset>`. Taken under the depreciation run's lock, so the run and a disposal never charge the
  same month twice. A disposal dated before a month already depreciated, or undone after it posted, is refused.
A refusal rejects the mutation with the rule's message; nothing of it is applied.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from hub.finance.ap_ar import allocated_to, keys_posted
from hub.finance.posting import PostingWrite, posted_entries, register_poster
from shared.domain.assets import ASSET, RegisteredAsset, acquisition_entry, asset_from_payload, disposal_entries
from shared.domain.finance import ZERO
from shared.domain.finance_errors import DepreciationError, FinanceError
from shared.domain.journal import LedgerEntry
from shared.domain.periods import Period
from shared.domain.postings import ACCOUNTS
from shared.domain.usage_hours import deduplicate, engine_hours, usage_from_payload
from shared.errors import ValidationError

if TYPE_CHECKING:
    from hub.sync.context import ApplyContext


async def _depreciation_so_far(ctx: ApplyContext, asset_id: str) -> tuple[Decimal, Period | None]:
    """The asset's posted depreciation (stored and admitted by this push) and the latest month it covers."""
    prefix = f"depreciation:{asset_id}:"
    keys = sorted(await keys_posted(ctx, prefix))
    entries = await posted_entries(ctx, keys)
    total, last = ZERO, None
    for key, entry in entries.items():
        try:
            month = Period.parse(key.removeprefix(prefix))
        except FinanceError:
            continue  # not a key the run wrote
        total += sum((ln.credit - ln.debit for ln in entry.lines if ln.account == ACCOUNTS.accumulated_depreciation),
                     ZERO)
        last = month if last is None or month > last else last
    return total, last


async def _hours_to(ctx: ApplyContext, equipment_id: str, first: date, last: date) -> Decimal:
    rows = await ctx.conn.fetch(
        "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = 'equipment.usage_log' AND NOT "
        "deleted AND data->>'equipment_id' = $2 AND data->>'shift_date' <= $3", ctx.principal.tenant_id,
        equipment_id, last.isoformat())
    usage = deduplicate(u for r in rows if (u := usage_from_payload(r["entity_id"], dict(r["data"]))) is not None)
    return engine_hours(usage, equipment_id, first, last)


async def _payments_still_fit(ctx: ApplyContext, asset: RegisteredAsset) -> None:
    """Payments allocated to an asset bought on account (D89) stay that vendor's: the asset's vendor cannot change
    under them, nor the asset stop being on account."""
    paid = await allocated_to(ctx, asset.asset_id)
    wrong = sorted(pid for pid, vendor in paid.items() if asset.paid_from != "payable" or vendor != asset.vendor_id)
    if wrong:
        raise DepreciationError(
            f"asset {asset.asset_id}: payment(s) {', '.join(wrong)} are allocated to it as "
            f"{paid[wrong[0]]}'s invoice; its vendor and account stay as they are",
            {"vendor_id": "payments are allocated to this invoice"})


async def post_asset(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    # keys_posted matches a prefix: keep the exact key (asset A-1 is not A-10).
    acquired = f"asset_acquisition:{w.entity_id}" in await keys_posted(ctx, f"asset_acquisition:{w.entity_id}")
    disposed = f"asset_disposal:{w.entity_id}" in await keys_posted(ctx, f"asset_disposal:{w.entity_id}")
    if w.data is None:
        if acquired or disposed:
            raise DepreciationError(f"asset {w.entity_id} has posted its acquisition or disposal and cannot be "
                                    "deleted", {"entity_id": "posted"})
        return []
    asset = asset_from_payload(w.entity_id, w.data, w.site_id or "")
    out: list[LedgerEntry] = []
    entry = acquisition_entry(asset)
    if entry is None and acquired:
        raise DepreciationError(f"asset {w.entity_id}: its acquisition is posted; it cannot become an opening "
                                "balance", {"paid_from": "posted: keep payable or bank"})
    if entry is not None:
        out.append(entry)
    if acquired or asset.paid_from == "payable":  # only an asset on account can have payments allocated to it
        await _payments_still_fit(ctx, asset)
    if asset.disposed_on is None:
        if disposed:
            raise DepreciationError(f"asset {w.entity_id}: its disposal is posted and cannot be undone here",
                                    {"disposed_on": "posted: keep the disposal date"})
        return out
    # The run's lock: a disposal and a depreciation run of the same tenant never charge the same month twice.
    await ctx.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                           f"{ctx.principal.tenant_id}/depreciation")
    accumulated, last = await _depreciation_so_far(ctx, w.entity_id)
    hours = (await _hours_to(ctx, asset.equipment_id, asset.in_service, asset.disposed_on)
             if asset.method == "units_of_production" else None)
    return out + disposal_entries(asset, accumulated, last, hours)


async def _guarded(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    try:
        return await post_asset(ctx, w)
    except FinanceError:
        raise
    except ValidationError as exc:
        raise FinanceError(str(exc), exc.field_errors) from exc


# Every key names the asset (`asset_acquisition:<id>`, `asset_disposal:<id>`, `depreciation:<id>:<month>`).
register_poster(ASSET, _guarded, keyed_by_record=True)
