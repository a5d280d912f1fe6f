"""The unattended edge agent: MQTT ingest → encrypted store → derived records → sync to the hub."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from edge.broker_security import BrokerSecurity
from edge.budget import Budget, budget_status, enforce, ensure_incremental_vacuum
from edge.derive import derive_breakdowns, derive_usage_logs
from edge.ingest import Decoder, MqttIngest, json_decoder, registered_only
from edge.sparkplug import TOPIC_FILTERS as SPARKPLUG_TOPICS
from edge.sparkplug import SparkplugDecoder, rebirth_request
from edge.storage import prepare, status, uplink_status
from edge.uplink import Uplink
from shared.device_auth import DeviceTokenProvider, load_enrollment
from shared.domain.shifts import ShiftPattern
from shared.store import DeviceIdentity, KeyFileKeyProvider, KeyProvider, LocalStore, PassphraseKeyProvider
from shared.sync import SyncClient
from shared.telemetry import TOPIC_FILTER

log = logging.getLogger(__name__)


@dataclass
class EdgeConfig:
    tenant_id: str
    site_id: str
    device_id: str
    store_path: Path
    key_file: Path | None = None
    passphrase: str | None = None
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883  # 8883 is the usual port for TLS
    broker_username: str | None = None
    broker_password: str | None = None
    broker_tls: bool = False  # TLS with the system's CAs; broker_ca_file (the site's CA) implies TLS
    broker_ca_file: Path | None = None
    broker_cert_file: Path | None = None  # a client certificate and its key, if the broker asks for one
    broker_key_file: Path | None = None
    hub_url: str | None = None
    token: str | None = None  # a provisioned access token; an enrolled gateway (`pitline edge enroll`) needs none
    time_zone: str = "UTC"
    day_shift_start: str = "06:00"
    night_shift_start: str = "18:00"
    derive_seconds: float = 30.0
    disk_budget_mb: float = 0.0  # 0: no budget; else raw samples are downsampled near it (edge/budget.py)
    sparkplug: bool = False  # also subscribe to Sparkplug B (spBv1.0/…; edge/sparkplug.py)
    # The gateway's equipment register: when set, samples for any other equipment are dead letters.
    equipment: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.equipment, list) or not all(isinstance(e, str) and e for e in self.equipment):
            raise ValueError("equipment must be a list of equipment ids, e.g. equipment = [\"DT001\", \"EX002\"]")
        for name in ("broker_ca_file", "broker_cert_file", "broker_key_file"):  # text in the TOML file
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                setattr(self, name, Path(value))
        self.broker_security()  # a missing or unreadable TLS file is an error now, not a reconnect loop

    def broker_security(self) -> BrokerSecurity:
        return BrokerSecurity(self.broker_username, self.broker_password, self.broker_tls, self.broker_ca_file,
                              self.broker_cert_file, self.broker_key_file)

    @property
    def broker_tls_enabled(self) -> bool:
        return self.broker_security().tls_enabled

    def key_provider(self) -> KeyProvider:
        if self.key_file is not None:
            return KeyFileKeyProvider(self.key_file)
        if self.passphrase:
            return PassphraseKeyProvider(self.passphrase)
        raise ValueError("configure key_file (gateways) or passphrase for the edge store")

    def pattern(self) -> ShiftPattern:
        return ShiftPattern(self.time_zone, time.fromisoformat(self.day_shift_start),
                            time.fromisoformat(self.night_shift_start))

    def budget(self) -> Budget | None:
        return Budget.from_mb(self.disk_budget_mb) if self.disk_budget_mb > 0 else None

    @property
    def status_path(self) -> Path:
        return self.store_path.with_name(self.store_path.name + ".status.json")

    @property
    def device_folder(self) -> Path:
        """The Ed25519 key (0600) and the enrollment record of `pitline edge enroll`, beside the store."""
        return self.store_path.with_name(self.store_path.name + ".device")


def _token_provider(config: EdgeConfig) -> Callable[[], str] | None:
    """Short-lived tokens signed by the gateway's own key once it is enrolled (they never run out however long
    nobody looks at it); else the provisioned `token`, if any. Enrollment also fixes the device and tenant ids."""
    enrollment = load_enrollment(config.device_folder)
    if enrollment is not None:
        config.device_id, config.tenant_id = enrollment.device_id, enrollment.tenant_id
        if config.hub_url is None:
            config.hub_url = enrollment.hub_url
        return DeviceTokenProvider.from_folder(config.device_folder)
    token = config.token
    return (lambda: token) if token else None


def _sd_notify(message: str) -> None:
    """systemd's notify protocol (READY=1, WATCHDOG=1) without a dependency."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode(), address)


class EdgeAgent:
    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        key = config.key_provider()
        self._open = lambda: LocalStore.open(config.store_path, key)
        token_provider = _token_provider(config)  # an enrolled gateway is the hub's device, whatever was typed
        store = self._open()
        prepare(store)
        ensure_incremental_vacuum(store)  # once per store; the budget shrinks the file with it
        if store.identity is None:
            store.set_identity(DeviceIdentity(config.device_id, config.tenant_id, config.site_id))
        elif store.identity.device_id != config.device_id:
            store.close()  # its queue belongs to the other device id: the hub would refuse every push
            raise ValueError(f"the store at {config.store_path} belongs to device {store.identity.device_id}, but "
                             f"this gateway is {config.device_id}: enroll before the first run, or start a new "
                             "store once the old one's outbox is empty")
        store.close()
        decoder: Decoder = json_decoder
        topics = [TOPIC_FILTER]
        if config.sparkplug:
            decoder = SparkplugDecoder(json_decoder, rebirth=lambda group, node: self.ingest.publish(
                *rebirth_request(group, node)))
            topics += SPARKPLUG_TOPICS
        if config.equipment:
            decoder = registered_only(decoder, config.equipment)
        self.ingest = MqttIngest(self._open, config.broker_host, config.broker_port,
                                 client_id=f"pitline-edge-{config.device_id}", topic=topics, decoder=decoder,
                                 security=config.broker_security())
        self.sync: SyncClient | None = None
        if config.hub_url and token_provider is not None:
            self.sync = SyncClient(self._open, config.hub_url, token_provider)
            self.uplink: Uplink | None = Uplink(lambda: self._open(), config.hub_url, token_provider)  # raw samples
        else:
            self.uplink = None

    def run(self, stop: threading.Event) -> None:
        self.ingest.start()
        sync_thread = None
        if self.sync is not None:
            sync_thread = threading.Thread(target=self.sync.run, args=(stop,), name="edge-sync", daemon=True)
            sync_thread.start()
        uplink_thread = threading.Thread(target=self.uplink.run, args=(stop,), name="edge-uplink", daemon=True) \
            if self.uplink is not None else None
        if uplink_thread is not None:
            uplink_thread.start()
        store = LocalStore.open_patiently(self._open, stop)
        if store is None:
            return
        _sd_notify("READY=1")
        try:
            while not stop.is_set():
                queued = 0
                # Each on its own: usage logs failing (a busy store, a bug) must not hold breakdowns back.
                for derive, args in ((derive_usage_logs, (store, self.config.pattern())),
                                     (derive_breakdowns, (store,))):
                    try:
                        queued += derive(*args)
                    except Exception:  # keep collecting: derivation is retried next round
                        log.exception("deriving records failed; will retry")
                if queued and self.sync is not None:
                    self.sync.notify_outbox()
                try:
                    budget = self.config.budget()
                    if budget is not None:
                        enforce(store, budget, self.config.pattern())
                    self._write_status(store)
                except Exception:
                    log.exception("disk budget or status failed; will retry")
                _sd_notify("WATCHDOG=1")
                stop.wait(self.config.derive_seconds)
        finally:
            self.ingest.stop()
            self._write_status(store)
            store.close()
            if sync_thread is not None:
                sync_thread.join(10)
            if uplink_thread is not None:
                uplink_thread.join(10)

    def _write_status(self, store: LocalStore) -> None:
        report = {**status(store), **uplink_status(store), **budget_status(store, self.config.budget()),
                  "broker_connected": self.ingest.stats.connected, "broker_error": self.ingest.stats.broker_error,
                  "received": self.ingest.stats.received, "duplicates": self.ingest.stats.duplicates}
        if self.sync is not None:
            s = self.sync.state
            report.update(hub_online=s.online, last_push_at=str(s.last_push_at), lag=s.lag, last_error=s.last_error)
        tmp = self.config.status_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, indent=1, default=str))
        tmp.replace(self.config.status_path)
