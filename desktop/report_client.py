"""The HQ reports' line to the hub: a person's own hub session (the reports read finance.* tenant-wide, which a
PC's device token never may), and GET requests that fail in one of four ways the screens tell apart.

Runs in worker threads only (desktop/report_worker.py); the token is set and read whole, one reference, so a
screen's next request sees the session another screen opened."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx


class ReportError(Exception):
    """`kind`: "unreachable" (no answer: the office is offline or the hub is down), "signin" (no session, or it
    expired: sign in again), "refused" (403: this person may not read it), "bad" (4xx: a parameter; `field`)."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.field = kind, message, field


class HubSession:
    def __init__(self, hub_url: Callable[[], str | None], username: str, tenant_id: str | None = None,
                 timeout: float = 20.0, local_address: str | None = None) -> None:
        self.hub_url, self.username, self.tenant_id, self.timeout = hub_url, username, tenant_id, timeout
        self.local_address = local_address  # the address to connect from (a PC with several; tests' own bucket)
        self._token: tuple[str, float] | None = None  # (token, monotonic expiry)

    @property
    def signed_in(self) -> bool:
        token = self._token
        return token is not None and time.monotonic() < token[1]

    def sign_out(self) -> None:
        self._token = None

    def _url(self, path: str) -> str:
        base = self.hub_url()
        if not base:
            raise ReportError("unreachable", "this PC has no hub address: HQ reports need the hub")
        return base.rstrip("/") + path

    def sign_in(self, password: str) -> None:
        body: dict[str, Any] = {"username": self.username, "password": password}
        if self.tenant_id:
            body["tenant_id"] = self.tenant_id
        r = self._send("POST", "/v1/auth/signin", json=body)
        if r.status_code != 200:
            raise ReportError("signin", f"the hub did not sign {self.username} in: {_message(r)}", "password")
        answer = r.json()
        # A minute early: a request sent just before expiry should not be the one refused.
        self._token = (str(answer["access_token"]), time.monotonic() + max(0, int(answer["expires_in"]) - 60))

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        token = self._token
        if token is None or not self.signed_in:
            raise ReportError("signin", "sign in to the hub to read HQ reports")
        r = self._send("GET", path, params={k: v for k, v in params.items() if v not in (None, "")},
                       headers={"Authorization": f"Bearer {token[0]}"})
        if r.status_code == 200:
            return dict(r.json())
        if r.status_code == 401:
            self.sign_out()
            raise ReportError("signin", "the hub session ended: sign in again")
        if r.status_code == 403:
            raise ReportError("refused", _message(r))
        if 400 <= r.status_code < 500:
            message = _message(r)
            raise ReportError("bad", message, _field_of(message))
        raise ReportError("unreachable", f"the hub could not answer ({r.status_code}): {_message(r)}")

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            transport = httpx.HTTPTransport(local_address=self.local_address) if self.local_address else None
            with httpx.Client(timeout=self.timeout, transport=transport) as http:
                return http.request(method, self._url(path), **kw)
        except httpx.HTTPError as exc:
            raise ReportError("unreachable", f"the hub is unreachable ({type(exc).__name__}): HQ reports need a "
                                             "connection; this office's own data is not affected") from exc


def _message(r: httpx.Response) -> str:
    try:
        return str(r.json().get("message") or r.text)
    except ValueError:
        return r.text or r.reason_phrase


def _field_of(message: str) -> str | None:
    """The hub names the parameter first ("from: ..."), so the screen can put the message next to its field."""
    return message.split(":", 1)[0].strip() if ":" in message else None
