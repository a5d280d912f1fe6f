"""The Pitline contract: envelopes, identifiers, conflict rules, the encrypted local store and the
sync client. Depends on nothing else of ours; `edge`, `hub` and `desktop` depend on it."""

__version__ = "0.1.0"
