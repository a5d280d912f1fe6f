"""Assemble the desktop: the encrypted store, the main window, and sync off the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication

from desktop.enrollment import (
    HUB_URL_KEY,
    REVOKED_KEY,
    RevocationNotice,
    device_token_provider,
    enrolled_sites,
    is_enrolled,
)
from desktop.main_window import MainWindow
from desktop.signin import IdleLock, LockDialog, Verifiers
from desktop.sync_bridge import SyncBridge
from desktop.verifier_sync import VerifierRefresher
from shared.errors import StoreError
from shared.store import DeviceIdentity, KeyProvider, LocalStore
from shared.sync import SyncClient


@dataclass
class Desktop:
    store: LocalStore
    window: MainWindow
    bridge: SyncBridge | None
    refresher: VerifierRefresher | None = None
    notice: RevocationNotice | None = None
    sink: QObject | None = None

    def close(self) -> None:
        self.window.detach_sync()  # signals already queued from sync threads must not reach a closed store
        if self.refresher is not None:
            self.refresher.stop()
        if self.bridge is not None:
            self.bridge.stop()
        self.window.close()
        self.store.close()


def build(store_path: Path, key: KeyProvider, *, identity: DeviceIdentity | None = None, actor: str,
          hub_url: str | None = None, token: str | None = None, token_provider: Callable[[], str] | None = None,
          start_sync: bool = True, roles: frozenset[str] = frozenset(),
          verifier_interval: float = 300.0) -> Desktop:
    """The window over the store, with sync when there is a hub to talk to: a static `token` (demo, tests), a
    `token_provider`, or, for a PC enrolled through the first run, its device key (challenge → signature →
    short-lived token) plus the periodic download of the people who may sign in."""
    store = LocalStore.open(store_path, key)
    if store.identity is None:
        if identity is None:
            store.close()
            raise StoreError(f"{store_path} has no device identity: run the first-run set-up (enroll) first")
        store.set_identity(identity)
    window = MainWindow(store, actor, roles)
    desktop = Desktop(store, window, None)
    queued = Qt.ConnectionType.QueuedConnection
    enrolled = token is None and token_provider is None and is_enrolled(store)
    if enrolled:
        hub_url = hub_url or store.get_meta(HUB_URL_KEY)
        desktop.notice = RevocationNotice()
        token_provider = device_token_provider(store, desktop.notice)
        desktop.sink = _RevocationSink(desktop)
        desktop.notice.revoked.connect(desktop.sink.on_revoked, queued)
    elif token is not None:
        token_provider = _constant(token)
    window.hub_url = hub_url or window.hub_url  # the HQ reports ask this hub, as the person signed in
    if not hub_url or token_provider is None:
        return desktop
    client = SyncClient(lambda: LocalStore.open(store_path, key), hub_url, token_provider)
    desktop.bridge = bridge = SyncBridge(client)
    # Emitted from sync threads: queue them onto the GUI thread. A plain lambda would run in the emitting
    # thread and touch widgets from there (a crash, seen in the tests).
    bridge.state_changed.connect(window.show_sync_state, queued)
    bridge.events_arrived.connect(window.on_events_arrived, queued)
    window.on_outbox_changed = bridge.outbox_changed
    if enrolled:
        refresher = VerifierRefresher(lambda: LocalStore.open(store_path, key), hub_url, token_provider,
                                      enrolled_sites(store), interval_seconds=verifier_interval)
        desktop.refresher = refresher
        assert desktop.notice is not None
        refresher.revoked.connect(desktop.notice.revoked, queued)
        bridge.state_changed.connect(refresher.on_sync_state, queued)  # a fresh list each time sync reconnects
    revoked = store.get_meta(REVOKED_KEY)
    if revoked:
        window.show_revoked(revoked)
    elif start_sync:
        bridge.start()
        if desktop.refresher is not None:
            desktop.refresher.start()
    return desktop


def _constant(token: str) -> Callable[[], str]:
    return lambda: token


class _RevocationSink(QObject):
    """Lives on the GUI thread, so the queued `revoked` signal runs `on_revoked` there."""

    def __init__(self, desktop: Desktop) -> None:
        super().__init__()
        self.desktop = desktop

    def on_revoked(self, message: str) -> None:
        """The hub refused this PC's key: remember it, say so, stop trying."""
        desktop = self.desktop
        if desktop.window.revoked is not None or desktop.window.sync_detached:
            return
        desktop.store.set_meta(REVOKED_KEY, message)
        desktop.window.show_revoked(message)
        if desktop.bridge is not None:
            desktop.bridge.halt()
        if desktop.refresher is not None:
            desktop.refresher.timer.stop()


OpenSession = Callable[[str, frozenset[str]], Desktop]


class SessionLock(QObject):
    """The idle lock over the signed-in person's desktop. After `seconds` without input the window's content
    is hidden behind a lock that names who is signed in. The same person (same rights) goes on where they
    were; anyone else gets a new session, built by `open_session(name, roles)`: their name on every write and
    their rights, never the first person's. The old session closes after the new window shows (closing the
    last window first would quit the application)."""

    switched = Signal(object)  # the new Desktop

    def __init__(self, desktop: Desktop, open_session: OpenSession, seconds: float) -> None:
        super().__init__()
        self.desktop, self.open_session = desktop, open_session
        self.dialog: LockDialog | None = None
        self.lock = IdleLock(seconds)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.lock)
        self.lock.locked.connect(self._locked)
        self.lock.start()

    def stop(self) -> None:
        """No more locking (the application is closing, or a test is done with it)."""
        self.lock.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.lock)

    def _locked(self) -> None:
        window = self.desktop.window
        if not shiboken6.isValid(window) or not window.isVisible():
            return  # closed meanwhile: nothing left to hide
        central = window.centralWidget()
        assert central is not None
        central.setVisible(False)
        dialog = LockDialog(Verifiers(self.desktop.store), window.actor)
        dialog.setModal(True)
        dialog.accepted.connect(lambda: self._unlocked(dialog))
        dialog.quit_requested.connect(lambda: self._quit(dialog))
        self.dialog = dialog
        window.lock_dialog = dialog  # type: ignore[attr-defined]
        dialog.show()

    def _unlocked(self, dialog: LockDialog) -> None:
        self.dialog = None
        user = dialog.user or {}
        name, roles = str(user.get("username")), frozenset(str(r) for r in user.get("roles") or ())
        old = self.desktop
        if name == old.window.actor and roles == old.window.roles:
            central = old.window.centralWidget()
            assert central is not None
            central.setVisible(True)
            self.lock.start()
            return
        new = self.open_session(name, roles)
        new.window.show()
        self.desktop = new
        old.close()
        self.lock.start()
        self.switched.emit(new)

    def _quit(self, dialog: LockDialog) -> None:
        self.lock.timer.stop()
        dialog.hide()
        self.desktop.window.close()
