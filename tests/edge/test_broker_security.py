"""The gateway's broker connection with a username and password and over TLS, against private Mosquittos
(a password file, no anonymous clients; a TLS listener with a CA made for the test); the config's TLS and
credential settings are checked with clear errors before anything starts."""

from __future__ import annotations

import ipaddress
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import EdgeAgent, EdgeConfig
from edge.cli import load_config
from tests.fixtures.mosquitto import SecuredBroker
from tests.waiting import wait_until

USERS = {"gateway": "gw-s3cret", "telematics": "tm-s3cret"}


def _pem_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def make_tls(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) files."""
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
          .not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / f"{name}-ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / f"{name}-ca.pem", folder / f"{name}-cert.pem", _pem_key(folder / f"{name}-key.pem", key)


@pytest.fixture
def password_broker() -> Iterator[SecuredBroker]:
    broker = SecuredBroker(Path(tempfile.mkdtemp(prefix="pitline-mqtt-pw-")), USERS)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def tls_broker() -> Iterator[tuple[SecuredBroker, Path]]:
    folder = Path(tempfile.mkdtemp(prefix="pitline-mqtt-tls-"))
    tls = make_tls(folder, "site")
    broker = SecuredBroker(folder, USERS, tls=tls)
    broker.start()
    try:
        yield broker, tls[0]
    finally:
        broker.stop()


def _config(tmp_path: Path, broker: SecuredBroker, name: str, **security: object) -> EdgeConfig:
    return EdgeConfig(tenant_id="t-sec", site_id="north", device_id=f"gw-{name}", store_path=tmp_path / f"{name}.db",
                      passphrase="edge test", broker_host=broker.host, broker_port=broker.port, derive_seconds=0.5,
                      **security)  # type: ignore[arg-type]


def _run(config: EdgeConfig) -> tuple[EdgeAgent, threading.Event, threading.Thread]:
    agent = EdgeAgent(config)
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    return agent, stop, runner


def _publish(broker: SecuredBroker, ca: Path | None = None, n: int = 1) -> None:
    """`n` samples a second apart from 06:00, as the telematics user."""
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sec-pub", protocol=mqtt.MQTTv5)
    pub.username_pw_set("telematics", USERS["telematics"])
    if ca is not None:
        pub.tls_set(ca_certs=str(ca))
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        infos = [pub.publish("site/north/equipment/DT01/telemetry",
                             f'{{"ts": "2026-11-24T06:{i // 60:02}:{i % 60:02}Z", "engine_status": "on"}}'.encode(),
                             qos=1) for i in range(n)]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        pub.disconnect()
        pub.loop_stop()


def test_the_gateway_signs_in_with_its_password_and_a_wrong_or_missing_one_is_refused_with_the_reason(
        password_broker: SecuredBroker, tmp_path: Path) -> None:
    runs = {"good": _run(_config(tmp_path, password_broker, "good", broker_username="gateway",
                                 broker_password=USERS["gateway"])),
            "wrong": _run(_config(tmp_path, password_broker, "wrong", broker_username="gateway",
                                  broker_password="guess")),
            "anonymous": _run(_config(tmp_path, password_broker, "anonymous"))}
    try:
        good = runs["good"][0].ingest.stats
        assert wait_until(lambda: good.connected, 30)
        _publish(password_broker)
        assert wait_until(lambda: good.stored == 1, 30)
        for name in ("wrong", "anonymous"):
            stats = runs[name][0].ingest.stats
            assert wait_until(lambda s=stats: s.broker_error is not None, 30), name  # type: ignore[misc]
            assert not stats.connected and stats.stored == 0
            assert "refused" in stats.broker_error and "Not authorized" in stats.broker_error, stats.broker_error
    finally:
        for _, stop, runner in runs.values():
            stop.set()
            runner.join(20)
    assert good.broker_error is None


def test_the_gateway_connects_over_tls_to_its_sites_ca_and_refuses_a_broker_another_ca_signed(
        tls_broker: tuple[SecuredBroker, Path], tmp_path: Path) -> None:
    broker, ca = tls_broker
    other_ca = make_tls(tmp_path, "other")[0]
    trusted = _run(_config(tmp_path, broker, "tls", broker_ca_file=ca, broker_username="gateway",
                           broker_password=USERS["gateway"]))
    stranger = _run(_config(tmp_path, broker, "stranger", broker_ca_file=other_ca, broker_username="gateway",
                            broker_password=USERS["gateway"]))
    try:
        stats = trusted[0].ingest.stats
        assert wait_until(lambda: stats.connected, 30)
        _publish(broker, ca, n=2000)  # records left in the TLS buffer must be read without new bytes arriving
        assert wait_until(lambda: stats.stored == 2000, 20), stats
        refused = stranger[0].ingest.stats
        assert wait_until(lambda: refused.broker_error is not None, 30)
        assert "certificate verify failed" in refused.broker_error and not refused.connected
    finally:
        for _, stop, runner in (trusted, stranger):
            stop.set()
            runner.join(20)


def test_broker_security_settings_are_checked_when_the_config_is_read(tmp_path: Path) -> None:
    base = {"tenant_id": "t", "site_id": "north", "device_id": "gw", "store_path": tmp_path / "gw.db",
            "passphrase": "x"}
    ca, cert, key = make_tls(tmp_path, "site")
    with pytest.raises(ValueError, match=r"broker_ca_file .*missing-ca\.pem does not exist"):
        EdgeConfig(**base, broker_ca_file=tmp_path / "missing-ca.pem")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="broker_cert_file and broker_key_file go together"):
        EdgeConfig(**base, broker_ca_file=ca, broker_cert_file=cert)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="broker_password needs broker_username"):
        EdgeConfig(**base, broker_password="x")  # type: ignore[arg-type]
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("hello")
    with pytest.raises(ValueError, match=r"broker_ca_file .*not-a-ca\.pem: not a PEM certificate"):
        EdgeConfig(**base, broker_ca_file=not_pem)  # type: ignore[arg-type]
    # From the TOML file: paths as text, and the same message as a CLI error.
    toml = tmp_path / "edge.toml"
    toml.write_text(f'[edge]\ntenant_id = "t"\nsite_id = "north"\ndevice_id = "gw"\nstore_path = "{tmp_path}/gw.db"\n'
                    f'passphrase = "x"\nbroker_username = "gateway"\nbroker_password = "pw"\n'
                    f'broker_ca_file = "{ca}"\nbroker_cert_file = "{cert}"\nbroker_key_file = "{key}"\n')
    config = load_config(toml)
    assert config.broker_ca_file == ca and config.broker_tls_enabled
    toml.write_text(toml.read_text().replace(str(ca), str(tmp_path / "gone.pem")))
    with pytest.raises(typer.BadParameter, match=r"gone\.pem does not exist"):
        load_config(toml)
