"""`pitline hub serve` as an administrator runs it, against the test database: forwarded headers are trusted
only from configured proxies (the sign-in rate limit cannot be dodged with X-Forwarded-For), and TLS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from pitline.harness import ROOT, free_port
from tests.hub.test_hub_faults_cli import stop

STRICT_SIGNIN = {"PITLINE_SIGNIN_RATE_BURST": "3", "PITLINE_SIGNIN_RATE_PER_MINUTE": "1"}


@contextmanager
def served(dsn: str, *args: str, env: dict[str, str] | None = None, scheme: str = "http",
           verify: str | bool = True, log: Path) -> Iterator[str]:
    """`pitline hub serve` on a free port; yields its base URL once /healthz answers."""
    port = free_port()
    full_env = {**os.environ, "PITLINE_DATABASE_URL": dsn, **(env or {})}
    full_env.pop("FORWARDED_ALLOW_IPS", None)  # uvicorn's own variable: the hub's setting must decide alone
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pitline", "hub", "serve", "--port", str(port), *args],
                                cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"hub serve exited {proc.returncode}: {log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{url}/healthz", verify=verify, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"hub serve did not answer: {log.read_text()[-2000:]}"
            time.sleep(0.1)
        yield url
    finally:
        stop(proc)


def signin_statuses(url: str, forwarded_for: list[str]) -> list[int]:
    """One failed sign-in (an unknown name: no account lockout) per X-Forwarded-For value, from 127.0.0.1."""
    with httpx.Client(timeout=30) as c:
        return [c.post(f"{url}/v1/auth/signin", headers={"X-Forwarded-For": ip},
                       json={"username": "nobody-at-all", "password": "wrong password"}).status_code
                for ip in forwarded_for]


def test_x_forwarded_for_from_loopback_does_not_dodge_the_signin_limit_without_a_trusted_proxy(
        pg_dsn: str, tmp_path: Path) -> None:
    spoofed = [f"203.0.113.{i}" for i in range(1, 11)]  # a new "client" per attempt
    with served(pg_dsn, env=STRICT_SIGNIN, log=tmp_path / "hub.log") as url:
        statuses = signin_statuses(url, spoofed)
    assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}, statuses
    # A proxy is trusted only when it is the one configured: 127.0.0.1 is not 198.51.100.7.
    with served(pg_dsn, env={**STRICT_SIGNIN, "PITLINE_TRUSTED_PROXIES": "198.51.100.7"},
                log=tmp_path / "hub2.log") as url:
        statuses = signin_statuses(url, spoofed)
    assert set(statuses[3:]) == {429}, statuses


def test_x_forwarded_for_is_honoured_from_a_configured_proxy(pg_dsn: str, tmp_path: Path) -> None:
    env = {**STRICT_SIGNIN, "PITLINE_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}
    with served(pg_dsn, env=env, log=tmp_path / "hub.log") as url:
        clients = signin_statuses(url, [f"203.0.113.{i}" for i in range(1, 11)])
        one_client = signin_statuses(url, ["198.51.100.20"] * 5)
        # Through two proxies (10.1.2.3 forwarded to us): the client is the address before the trusted ones.
        chained = signin_statuses(url, ["198.51.100.30, 10.1.2.3"] * 4)
    assert set(clients) == {401}, clients  # each forwarded client has its own bucket
    assert one_client == [401, 401, 401, 429, 429], one_client  # and the limit still holds per client
    assert chained == [401, 401, 401, 429], chained


def serve_fails(dsn: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PITLINE_DATABASE_URL": dsn, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pitline", "hub", "serve", "--port", str(free_port()), *args],
                          cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60)


def test_a_trusted_proxy_that_is_not_an_address_stops_serve_with_a_clear_error(pg_dsn: str) -> None:
    out = serve_fails(pg_dsn, env={"PITLINE_TRUSTED_PROXIES": "10.0.0.1, proxy.example"})
    assert out.returncode == 2 and "'proxy.example' is not an IP address or network" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def self_signed(folder: Path, name: str = "hub") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, made here, and its key (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pitline test hub")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def test_serve_speaks_tls_with_the_given_certificate(pg_dsn: str, tmp_path: Path) -> None:
    import ssl

    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))  # the client trusts exactly this certificate
    with served(pg_dsn, "--certfile", str(cert), "--keyfile", str(key), scheme="https", verify=trust,
                log=tmp_path / "hub.log") as url:
        assert url.startswith("https://")
        r = httpx.get(f"{url}/healthz", verify=trust, timeout=10)
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert httpx.get(f"{url}/readyz", verify=trust, timeout=10).json() == {"status": "ready"}
        # A client that does not trust the certificate refuses to talk; plain HTTP gets no answer.
        try:
            httpx.get(f"{url}/healthz", timeout=10)
            raise AssertionError("an untrusted self-signed certificate was accepted")
        except httpx.ConnectError as exc:
            assert "CERTIFICATE_VERIFY_FAILED" in str(exc)
        plain = url.replace("https://", "http://")
        try:
            answer = httpx.get(f"{plain}/healthz", timeout=10).status_code
        except httpx.HTTPError:
            answer = None
        assert answer != 200


def test_serve_refuses_half_or_unreadable_tls_settings_with_a_clear_error(pg_dsn: str, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    cert, key = self_signed(tmp_path)
    other_cert, _ = self_signed(tmp_path, "other")
    locked = tmp_path / "locked.key"
    locked.write_bytes(serialization.load_pem_private_key(key.read_bytes(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")))
    cases = [
        ((["--certfile", str(cert), "--keyfile", str(locked)]), "cannot be used"),  # encrypted: never a prompt
        ((["--certfile", str(cert)]), "--certfile needs --keyfile"),
        ((["--keyfile", str(key)]), "--keyfile needs --certfile"),
        ((["--certfile", str(tmp_path / "missing.crt"), "--keyfile", str(key)]), "missing.crt"),
        ((["--certfile", str(other_cert), "--keyfile", str(key)]), "do not match"),
        ((["--certfile", str(key), "--keyfile", str(key)]), "cannot be used"),
    ]
    for args, message in cases:
        out = serve_fails(pg_dsn, *args)
        assert out.returncode == 2 and message in out.stderr, (args, out.returncode, out.stderr[-800:])
        assert "Traceback" not in out.stderr
