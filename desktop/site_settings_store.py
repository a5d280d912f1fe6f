"""The site's people settings and calendar as this PC holds them: the `hr.site_settings` record of the PC's
site (time zone, shift starts, reconciliation threshold), its public holidays and the tenant's allowance rules.
Every people screen reads the zone and threshold here instead of assuming UTC and 0.5 h."""

from __future__ import annotations

from datetime import date

from shared.domain.allowances import ALLOWANCE_RULE, AllowanceRule, check_rule
from shared.domain.site_calendar import PUBLIC_HOLIDAY, SITE_SETTINGS, SiteSettings, holidays, read_settings
from shared.errors import ValidationError
from shared.store import LocalStore


def site_of(store: LocalStore) -> str | None:
    identity = store.identity
    return identity.site_id if identity is not None else None


def current_settings(store: LocalStore) -> SiteSettings:
    """The PC's site's settings; the defaults (UTC, 06:00/18:00, 0.5 h) until someone saves them."""
    site = site_of(store)
    record = store.get(SITE_SETTINGS, site) if site else None
    return read_settings(record.state if record is not None and not record.deleted else None)


def site_holidays(store: LocalStore) -> dict[date, str]:
    site = site_of(store)
    records = [r for r in store.query(PUBLIC_HOLIDAY) if not r.deleted and (r.state or {})]
    # Holidays are site-scoped records; a PC that follows several sites keeps only its own site's here.
    mine = [r.state or {} for r in records if site is None or r.entity_id.startswith(f"{site}:")]
    return holidays(mine)


def allowance_rules(store: LocalStore) -> list[AllowanceRule]:
    """The tenant's allowance rules; a record the rule check refuses (written by an older version) is left
    out rather than paying a wrong amount."""
    out = []
    for r in store.query(ALLOWANCE_RULE):
        try:
            out.append(check_rule(r.state or {}))
        except ValidationError:
            continue
    return out
