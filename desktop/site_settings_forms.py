"""The forms of the site settings screen: the site's zone, shift starts and reconciliation threshold
(`hr.site_settings`, id = the site), a public holiday (`hr.public_holiday`, id `<site>:<date>`) and an
allowance rule (`hr.allowance_rule`, id = its code). Each checks the whole record by the shared rules before
anything is written (an unknown IANA zone, a start that is not HH:MM, a threshold below zero: the message
beside the field, what was typed kept); an existing record gets only the fields that changed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from desktop.mutation_form import MutationForm, need_text
from desktop.site_settings_store import site_of
from shared.domain.allowances import ALLOWANCE_RULE, check_rule
from shared.domain.site_calendar import PUBLIC_HOLIDAY, SITE_SETTINGS, check_settings, holiday_id
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.store import LocalStore, MutationDraft

SETTINGS_FIELDS = ["time_zone", "day_start", "night_start", "threshold_hours", "notes"]


def _write(store: LocalStore, entity: str, entity_id: str, typed: Mapping[str, Any], actor: str,
           nothing_field: str) -> list[MutationDraft]:
    """A create for a new record, else an update of the fields that differ (field merge keeps the rest)."""
    record = store.get(entity, entity_id)
    state = (record.state or {}) if record is not None and not record.deleted else None
    if state is None:
        validate_mutation(entity, Op.CREATE, dict(typed))
        return [MutationDraft(entity, entity_id, Op.CREATE, dict(typed), actor)]
    changed = {k: v for k, v in typed.items() if state.get(k) != v}
    if not changed:
        raise ValidationError("nothing to change", {nothing_field: "already saved as typed"})
    validate_mutation(entity, Op.CREATE, {**state, **changed})  # the record as it will stand
    return [MutationDraft(entity, entity_id, Op.UPDATE, changed, actor)]


def _site(store: LocalStore, field: str) -> str:
    site = site_of(store)
    if site is None:
        raise ValidationError("this PC has no site", {field: "this PC is not enrolled at a site"})
    return site


def settings_form(store: LocalStore, actor: str) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        site = _site(store, "time_zone")
        record = store.get(SITE_SETTINGS, site)
        stored = (record.state or {}) if record is not None else {}
        typed = {**values}
        if "time_zone" in typed:
            typed["time_zone"] = str(typed["time_zone"]).strip()
        merged = {**stored, **typed}
        check_settings(merged)  # every field's message at once, before the spec's own
        return _write(store, SITE_SETTINGS, site, typed, actor, "time_zone")

    return MutationForm(store, SITE_SETTINGS, SETTINGS_FIELDS, actor, build, draft_key="form:hr.site_settings",
                        save_label="Save site settings")


def holiday_form(store: LocalStore, actor: str) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        site = _site(store, "day")
        try:
            day = date.fromisoformat(need_text(values, "day"))
        except ValueError:
            raise ValidationError("not a date", {"day": "must be a date (YYYY-MM-DD)"}) from None
        name = need_text(values, "name")
        return _write(store, PUBLIC_HOLIDAY, holiday_id(site, day), {"day": day.isoformat(), "name": name}, actor,
                      "day")

    return MutationForm(store, PUBLIC_HOLIDAY, ["day", "name"], actor, build, draft_key="form:hr.public_holiday",
                        save_label="Save public holiday")


def allowance_form(store: LocalStore, actor: str) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        typed = {**values, "code": need_text(values, "code").upper()}
        check_rule(typed)
        return _write(store, ALLOWANCE_RULE, typed["code"], typed, actor, "code")

    return MutationForm(store, ALLOWANCE_RULE, ["code", "name", "basis", "rate_cents", "multiplier", "site"], actor,
                        build, draft_key="form:hr.allowance_rule", save_label="Save allowance rule")
