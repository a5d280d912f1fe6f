"""The hub's general ledger: entries built by the shared finance rules, stored in the `finance` schema
(migration 0010), and the trial balance aggregated in SQL."""
