"""Pure domain rules and entity declarations, one module per bounded context. No I/O here:
the desktop and the hub run the same rules."""

from shared.domain import (  # noqa: F401  (each module registers its entities on import)
    allowances,
    approvals,
    assets,
    core_entities,
    finance,
    finance_entities,
    inventory,
    maintenance,
    manual_journal,
    notifications,
    payables,
    people,
    procurement,
    receivables,
    site_calendar,
)
