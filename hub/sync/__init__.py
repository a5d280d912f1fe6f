"""The hub's side of the sync contract: push (apply), pull (changes, stream, snapshot), conflicts."""
