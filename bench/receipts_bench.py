"""Receipts decided by the hub (D27): drain a backlog of stock movements (PO receipts against many lines,
transfer receipts and issues) whose every create the hub checks against what it booked (a document lock, an
index probe) and books into the stock balance, beside the same number of plain creates (forms) from another
device in the same run: the ratio is what consume-once and the derived balance cost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from bench.env import BenchEnv
from bench.report import Row
from pitline.harness import provision_device
from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
from shared.sync import SyncClient

AT = "2026-07-01T08:00:00+00:00"
START = datetime(2026, 7, 1, 9, tzinfo=UTC)
LINES_PER_PO = 20


def _setup(n: int) -> Iterator[MutationDraft]:
    """Opening stock, the POs and the shipped transfers the movements claim (pushed before the timed drain)."""
    for item in range(50):
        yield MutationDraft("inventory.movement", f"OPEN{item}", "create", {
            "kind": "receipt", "store_id": "MAIN", "item_id": f"I{item}", "quantity": 1_000_000, "unit_cost": 2,
            "occurred_at": "2026-07-01T06:00:00+00:00"}, "storeman")
    for po in range(n // (3 * LINES_PER_PO) + 1):
        yield MutationDraft("procurement.purchase_order", f"PO{po}", "create", {
            "vendor_id": "V1", "total": 1, "lines": [
                {"line_id": str(k), "item_id": f"I{k}", "store_id": "MAIN", "quantity": 1_000, "unit_price": 2}
                for k in range(LINES_PER_PO)]}, "buyer")
    for t in range(n // 3 + 1):
        yield MutationDraft("inventory.movement", f"OUT{t}", "create", {
            "kind": "transfer_out", "store_id": "MAIN", "item_id": f"I{t % 50}", "quantity": 5, "unit_cost": 2,
            "transfer_id": f"T{t}", "to_store_id": "WS", "occurred_at": AT}, "storeman")


def _movements(n: int) -> Iterator[MutationDraft]:
    for k in range(n):
        at = (START + timedelta(seconds=k)).isoformat()  # a store's day: one row after another
        if k % 3 == 0:
            line = (k // 3) % (LINES_PER_PO * (n // (3 * LINES_PER_PO) + 1))
            payload = {"kind": "receipt", "store_id": "MAIN", "item_id": f"I{line % LINES_PER_PO}", "quantity": 1,
                       "unit_cost": 2, "po_id": f"PO{line // LINES_PER_PO}", "po_line_id": str(line % LINES_PER_PO),
                       "occurred_at": at}
        elif k % 3 == 1:
            payload = {"kind": "transfer_in", "store_id": "WS", "item_id": f"I{(k // 3) % 50}", "quantity": 5,
                       "unit_cost": 2, "transfer_id": f"T{k // 3}", "occurred_at": at}
        else:
            payload = {"kind": "issue", "store_id": "MAIN", "item_id": f"I{k % 50}", "quantity": 1, "occurred_at": at}
        yield MutationDraft("inventory.movement", f"M{k}", "create", payload, "storeman")


def _forms(n: int) -> Iterator[MutationDraft]:
    for k in range(n):
        yield MutationDraft("forms.submission", f"F{k}", "create", {"form": "pre-start", "title": f"check {k}"}, "u1")


def _drain(env: BenchEnv, device: str, drafts: Iterator[MutationDraft], *, setup: Iterator[MutationDraft] = iter(())
           ) -> tuple[float, SyncClient, LocalStore]:
    key = PassphraseKeyProvider("bench", n=2**14)
    path = env.tmp / f"{device}.db"
    store = LocalStore.open(path, key)
    store.set_identity(DeviceIdentity(device, "bench-receipts", "s1"))
    token = provision_device(env.dsn, "bench-receipts", "s1", device)
    client = SyncClient(lambda: LocalStore.open(path, key), env.hub.url, lambda: token, batch_size=1000)
    store.enqueue_many(list(setup))
    client.push_until_empty()
    batch = list(drafts)
    for start in range(0, len(batch), 5000):
        store.enqueue_many(batch[start : start + 5000])
    started = time.perf_counter()
    done = client.push_until_empty()
    elapsed = time.perf_counter() - started
    client.close_thread_store()
    if done != len(batch):
        raise RuntimeError(f"pushed {done} of {len(batch)}")
    return len(batch) / elapsed, client, store


def run(env: BenchEnv, n: int) -> Row:
    plain, _, s1 = _drain(env, "bench-forms", _forms(n))
    s1.close()
    mine, _, store = _drain(env, "bench-storeman", _movements(n), setup=_setup(n))
    refused = len(store.rejections())
    store.close()
    return Row("receipts: movements decided by the hub", mine, "mut/s", "plain creates (forms), same run", plain,
               "≥ 5,000/s (the push target), 0 refused", mine >= 5_000 and refused == 0,
               note=f"{n:,} movements (⅓ PO-line receipts over {LINES_PER_PO}-line POs, ⅓ transfer receipts, "
                    f"⅓ issues): each claim locked and checked against what the hub booked, each booked into "
                    f"inventory.stock; {refused} refused")
