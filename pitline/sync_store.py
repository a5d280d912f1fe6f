"""One site-office store syncing in its own process, so a scenario can kill -9 it mid-sync.

`python -m pitline.sync_store STORE --passphrase P --hub-url U --token T [--batch-size N]` pushes and
follows the stream until the outbox is empty and the replica has caught up, then exits 0 (or 1 after
`--timeout` seconds)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from shared.store import LocalStore, PassphraseKeyProvider
from shared.sync import SyncClient


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pitline.sync_store")
    parser.add_argument("store", type=Path)
    parser.add_argument("--passphrase", required=True)
    parser.add_argument("--hub-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    key = PassphraseKeyProvider(args.passphrase, n=2**14)
    client = SyncClient(lambda: LocalStore.open(args.store, key), args.hub_url, lambda: args.token,
                        batch_size=args.batch_size)
    stop = threading.Event()
    runner = threading.Thread(target=client.run, args=(stop,), daemon=True)
    runner.start()
    deadline = time.monotonic() + args.timeout
    settled = False
    while time.monotonic() < deadline and not settled:
        time.sleep(0.2)
        s = client.state
        settled = s.online and s.outbox_depth == 0 and s.last_push_at is not None and s.lag == 0
    stop.set()
    runner.join(30)
    print(f"sync_store: {'settled' if settled else 'timed out'}; outbox {client.state.outbox_depth}, "
          f"cursor {client.state.cursor}", flush=True)
    return 0 if settled else 1


if __name__ == "__main__":
    sys.exit(main())
