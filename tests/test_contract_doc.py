"""docs/contract.md's entity table is the registry's: a new entity, strategy or scope shows in the contract."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from entity_table import entity_table  # noqa: E402


def test_the_contracts_entity_table_is_generated_from_the_registry() -> None:
    text = (ROOT / "docs" / "contract.md").read_text()
    assert entity_table() in text, "run `python scripts/entity_table.py` and paste its table into docs/contract.md"
