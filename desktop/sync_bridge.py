"""Sync off the UI thread: the shared SyncClient runs in its own threads; its state and incoming events come
back to the UI through Qt signals (queued across threads), so the window never blocks on the network."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from shared.envelopes import Event
from shared.sync import SyncClient, SyncState


class SyncBridge(QObject):
    state_changed = Signal(object)  # SyncState
    events_arrived = Signal(int)  # how many

    def __init__(self, client: SyncClient) -> None:
        super().__init__()
        self.client = client
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        client.add_listener(on_state=self._state, on_events=self._events)

    def _state(self, state: SyncState) -> None:
        self.state_changed.emit(state)

    def _events(self, events: list[Event]) -> None:
        self.events_arrived.emit(len(events))

    def start(self) -> None:
        self._thread = threading.Thread(target=self.client.run, args=(self._stop,), name="desktop-sync",
                                        daemon=True)
        self._thread.start()

    def outbox_changed(self) -> None:
        self.client.notify_outbox()

    def halt(self) -> None:
        """Ask the sync threads to stop without waiting for them (safe on the GUI thread)."""
        self._stop.set()
        self.client.notify_outbox()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
