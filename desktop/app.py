"""Assemble the desktop: the encrypted store, the main window, and sync off the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.main_window import MainWindow
from desktop.signin import IdleLock, SignInDialog, Verifiers
from desktop.sync_bridge import SyncBridge
from shared.store import DeviceIdentity, KeyProvider, LocalStore
from shared.sync import SyncClient


@dataclass
class Desktop:
    store: LocalStore
    window: MainWindow
    bridge: SyncBridge | None

    def close(self) -> None:
        self.window.detach_sync()  # signals already queued from sync threads must not reach a closed store
        if self.bridge is not None:
            self.bridge.stop()
        self.window.close()
        self.store.close()


def build(store_path: Path, key: KeyProvider, *, identity: DeviceIdentity, actor: str,
          hub_url: str | None = None, token: str | None = None, start_sync: bool = True,
          roles: frozenset[str] = frozenset()) -> Desktop:
    store = LocalStore.open(store_path, key)
    if store.identity is None:
        store.set_identity(identity)
    window = MainWindow(store, actor, roles)
    bridge = None
    if hub_url and token:
        client = SyncClient(lambda: LocalStore.open(store_path, key), hub_url, lambda: token)
        bridge = SyncBridge(client)
        # Emitted from sync threads: queue them onto the GUI thread. A plain lambda would run in the emitting
        # thread and touch widgets from there (a crash, seen in the tests).
        queued = Qt.ConnectionType.QueuedConnection
        bridge.state_changed.connect(window.show_sync_state, queued)
        bridge.events_arrived.connect(window.on_events_arrived, queued)
        window.on_outbox_changed = bridge.outbox_changed
        if start_sync:
            bridge.start()
    return Desktop(store, window, bridge)


def attach_idle_lock(window: MainWindow, verifiers: Verifiers, seconds: float) -> IdleLock:
    """After `seconds` without input the window's content is hidden until someone signs in again."""
    lock = IdleLock(seconds)
    app = QApplication.instance()
    if app is not None:
        app.installEventFilter(lock)

    central = window.centralWidget()
    assert central is not None

    def on_locked() -> None:
        central.setVisible(False)
        dialog = SignInDialog(verifiers, "Session locked: sign in again")
        dialog.setModal(True)

        def unlocked() -> None:
            central.setVisible(True)
            lock.start()

        dialog.accepted.connect(unlocked)
        window.lock_dialog = dialog  # type: ignore[attr-defined]
        dialog.show()

    lock.locked.connect(on_locked)
    lock.start()
    return lock
