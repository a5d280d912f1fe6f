"""What a caller may read of the event log and the records: its sites (and tenant-wide rows), and, when its
token carries roles, the entities those roles may read (`shared.permissions`, the matrix as data).

A token without roles is a device acting as itself (decisions D9): it replicates for everyone who signs in on
it, so it reads every entity of its sites and the desktop decides per person. A token with roles (a person's,
or a service's) reads only what one of its roles may read; conflict records follow the entity they are about.

Filtering never opens a gap in a reader's cursor: `changes` pages skip invisible events in SQL and the
cursor moves to the last event the page considered (or the head), so a filtered event still advances it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from hub.auth.principal import Principal
from shared.entities import all_specs
from shared.permissions import CONFLICT_RECORD, event_visible, readable


@dataclass(frozen=True)
class ReadRule:
    sites: list[str] | None  # None: every site of the tenant
    entities: frozenset[str] | None  # None: every entity

    @property
    def entity_param(self) -> list[str] | None:
        """The `$n::text[]` of the SQL filter (`ENTITY_SQL`)."""
        return None if self.entities is None else sorted(self.entities)

    def visible(self, site_id: str | None, entity: str, about: str | None = None) -> bool:
        """The same rule in Python, for rows already read (the live stream's fan-out)."""
        site_ok = site_id is None or self.sites is None or site_id in self.sites
        return site_ok and event_visible(self.entities, entity, about)


def entity_sql(entity: str, payload: str, param: str) -> str:
    """The SQL form of `ReadRule.visible`'s entity rule, for a table's entity column and JSON payload column."""
    return (f"({param}::text[] IS NULL OR {entity} = ANY({param}::text[]) "
            f"OR ({entity} = '{CONFLICT_RECORD}' AND {payload}->>'entity' = ANY({param}::text[])))")


@lru_cache(maxsize=512)
def _entities_for(roles: frozenset[str]) -> frozenset[str] | None:
    if not roles:
        return None
    names = [s.name for s in all_specs()]
    allowed = readable(roles, names)
    return None if len(allowed) == len(names) else allowed  # reads everything: no filter to evaluate


def read_rule(principal: Principal) -> ReadRule:
    sites = None if principal.site_ids is None else sorted(principal.site_ids)
    return ReadRule(sites, _entities_for(principal.roles))
