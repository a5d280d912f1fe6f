"""What a newcomer reads first: the README's two commands and how to reach `pitline` afterwards."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_readme_opens_with_exactly_the_two_commands_and_both_scripts_exist() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block and README.index("```bash") < README.index("## ")
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["bash scripts/run.sh", "bash scripts/test.sh"]
    assert (ROOT / "scripts" / "run.sh").exists() and (ROOT / "scripts" / "test.sh").exists()
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_says_how_to_get_pitline_on_the_path_before_sending_people_to_it() -> None:
    # Every "where to go next" line starts with `pitline …`, which is in .venv/bin only.
    activate = README.find("source .venv/bin/activate")
    assert activate != -1, "the README never says how to get `pitline` on the PATH"
    assert activate < README.index("## Where to go next")
