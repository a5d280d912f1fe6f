"""How the gateway signs in to its broker: optionally a username and password, optionally TLS (the site's
CA file, or the system's CAs; a client certificate and key if the broker asks for one). Checked when the
config is read, so a missing or unreadable file is a clear error at start, not a reconnect loop."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt


@dataclass(frozen=True)
class BrokerSecurity:
    username: str | None = None
    password: str | None = None
    tls: bool = False  # TLS with the system's CAs; a ca_file implies TLS
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if self.password is not None and not self.username:
            raise ValueError("broker_password needs broker_username")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("broker_cert_file and broker_key_file go together: set both or neither")
        for name, path in (("broker_ca_file", self.ca_file), ("broker_cert_file", self.cert_file),
                           ("broker_key_file", self.key_file)):
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {path} does not exist (or is not a file)")
        if self.tls_enabled:
            self.context()  # loads every file now: a bad one is an error at start

    @property
    def tls_enabled(self) -> bool:
        return self.tls or self.ca_file is not None or self.cert_file is not None

    def context(self) -> ssl.SSLContext:
        """Server certificate and host name verified; the CA file or else the system's trust store."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.ca_file is not None:
            try:
                context.load_verify_locations(cafile=str(self.ca_file))
            except ssl.SSLError as exc:
                raise ValueError(f"broker_ca_file {self.ca_file}: not a PEM certificate ({exc})") from None
        if self.cert_file is not None:
            try:
                context.load_cert_chain(str(self.cert_file), str(self.key_file))
            except ssl.SSLError as exc:
                raise ValueError(f"broker_cert_file {self.cert_file} / broker_key_file {self.key_file}: "
                                 f"not a certificate and its key ({exc})") from None
        return context

    def apply(self, client: mqtt.Client) -> None:
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls_enabled:
            client.tls_set_context(self.context())
