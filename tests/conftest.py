"""Test fixtures are plugins, one per real component (see tests/fixtures/)."""

import importlib.util

pytest_plugins = [
    name
    for name in ("tests.fixtures.postgres", "tests.fixtures.mosquitto", "tests.fixtures.hubserver")
    if importlib.util.find_spec(name) is not None
]
