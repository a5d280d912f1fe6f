"""`pitline desktop …`: the window, and a headless self-check for the demo and CI."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import typer

app = typer.Typer(help="The site-office desktop application.", no_args_is_help=True)


def _refuse_broken_binding() -> None:
    from desktop.binding_check import refusal

    problem = refusal()
    if problem:
        typer.echo(problem, err=True)
        raise typer.Exit(2)


@app.command()
def run(
    store: Path = typer.Option(..., help="the encrypted store file"),
    tenant: str = typer.Option(None, help="with --token: the provisioned device's tenant"),
    site: str = typer.Option(None, help="with --token: its site"),
    device: str = typer.Option(None, help="with --token: its device id"),
    hub_url: str = typer.Option(None), token: str = typer.Option(None, help="a static device token (demo, tests)"),
    passphrase: str = typer.Option(None, envvar="PITLINE_STORE_PASSPHRASE", help="else the OS keyring"),
    idle_minutes: float = typer.Option(15.0, help="lock the session after this long without input"),
) -> None:
    """Open the window. A fresh PC goes first run (enroll with the hub's one-time token, or a standalone demo
    site) → offline sign-in → the window; an enrolled PC signs challenges with its device key to sync."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

    from desktop.app import SessionLock, build
    from desktop.enrollment import device_token_provider, enrolled_sites, is_enrolled
    from desktop.first_run import HUB_TOKEN_KEY, HUB_URL_KEY, FirstRunDialog, is_set_up
    from desktop.signin import SignInDialog, Verifiers
    from desktop.store_key import StoreKeyUnavailable, store_key
    from desktop.verifier_sync import VerifierRefresher
    from shared.store import DeviceIdentity, LocalStore

    _refuse_broken_binding()
    qt = QApplication.instance() or QApplication([])
    try:
        key = store_key(store, passphrase)  # the OS keyring, else a passphrase typed here (and why)
    except StoreKeyUnavailable as exc:
        typer.echo(str(exc), err=True)
        QMessageBox.critical(None, "Pitline cannot open this PC's data", str(exc))
        raise typer.Exit(1) from None
    with LocalStore.open(store, key) as local:
        if not is_set_up(local) and FirstRunDialog(local).exec() != QDialog.DialogCode.Accepted:
            raise typer.Exit(1)
        hub = hub_url or local.get_meta(HUB_URL_KEY)
        device_token = token or local.get_meta(HUB_TOKEN_KEY)
        verifiers = Verifiers(local)
        signin = SignInDialog(verifiers)
        refresher = None
        if is_enrolled(local) and hub and not device_token:
            # Fetch the hub's people while the dialog is open (the first download may have failed).
            refresher = VerifierRefresher(lambda: LocalStore.open(store, key), hub, device_token_provider(local),
                                          enrolled_sites(local), interval_seconds=30.0)
            refresher.failed.connect(signin.message.setText, Qt.ConnectionType.QueuedConnection)
            refresher.start()
        if not verifiers.users():
            signin.message.setText("No one can sign in on this PC yet: the list of people is coming from the hub.")
        accepted = signin.exec() == QDialog.DialogCode.Accepted
        if refresher is not None:
            refresher.stop()
        if not accepted or signin.user is None:
            raise typer.Exit(1)
        user = str(signin.user["username"])
    roles = frozenset(str(r) for r in signin.user.get("roles") or ())
    identity = DeviceIdentity(device, tenant, site) if device and tenant else None

    def open_session(actor: str, rights: frozenset[str]):  # type: ignore[no-untyped-def]
        return build(store, key, identity=identity, actor=actor, hub_url=hub, token=device_token, roles=rights)

    session = SessionLock(open_session(user, roles), open_session, idle_minutes * 60)
    session.desktop.window.show()
    code = qt.exec()
    session.stop()
    session.desktop.close()
    raise typer.Exit(code)


@app.command()
def check(
    store: Path = typer.Option(None, help="a store to open (default: a fresh one in a temporary folder)"),
    hub_url: str = typer.Option(None), token: str = typer.Option(None),
    tenant: str = typer.Option("demo"), site: str = typer.Option("site-1"), device: str = typer.Option("desk-check"),
) -> None:
    """Headless: open the store, build the main window offscreen, sync once if a hub is given; exit 0/1."""
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    from PySide6.QtWidgets import QApplication

    from desktop.app import build
    from shared.store import DeviceIdentity, PassphraseKeyProvider

    _refuse_broken_binding()
    scratch = None if store else Path(tempfile.mkdtemp(prefix="pitline-desk-"))  # removed at the end
    path = store if scratch is None else scratch / "desk.db"
    qt = QApplication.instance() or QApplication([])
    key = PassphraseKeyProvider("desktop check", n=2**14)
    desktop = build(path, key, identity=DeviceIdentity(device, tenant, site), actor="check", hub_url=hub_url,
                    token=token, start_sync=False)
    desktop.window.show()
    qt.processEvents()
    ready = time.perf_counter() - started
    if desktop.bridge is not None:
        desktop.bridge.client.sync_once()
        desktop.window.refresh_tables()
    typer.echo(f"desktop check: window ready in {ready:.2f} s; outbox {desktop.store.outbox_depth()}; "
               f"records {sum(m.total for m in desktop.window.models.values())}")
    desktop.close()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
