"""Print the contract's entity table (docs/contract.md, "Entities and their conflict strategies") from the
registry: `python scripts/entity_table.py`. tests/test_contract_doc.py keeps the document equal to it."""

from __future__ import annotations

from shared.entities import all_specs

# Where the strategy alone would mislead a reader.
NOTES = {"inventory.stock": "kept by the hub from `inventory.movement`; devices never write it, D27"}


def entity_table() -> str:
    rows = ["| entity | strategy | adjustable | create-only | tenant-wide (D91) |", "|---|---|---|---|---|"]
    for spec in all_specs():
        strategy = str(spec.strategy) + (f" ({NOTES[spec.name]})" if spec.name in NOTES else "")
        rows.append(f"| `{spec.name}` | {strategy} | {', '.join(sorted(spec.adjustable))} | "
                    f"{'yes' if spec.create_only else ''} | {'yes' if not spec.site_scoped else ''} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(entity_table(), end="")
