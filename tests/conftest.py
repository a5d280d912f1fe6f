"""Test fixtures are plugins, one per real component (see tests/fixtures/)."""

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.mosquitto",
    "tests.fixtures.hubserver",
]
