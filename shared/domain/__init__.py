"""Pure domain rules and entity declarations, one module per bounded context. No I/O here:
the desktop and the hub run the same rules."""

from shared.domain import core_entities  # noqa: F401  (registers the entities)
