"""The hub's side of the people rules (issue 14): the shared `hr` rules that need the whole record or other
records, run inside the push transaction on what the hub authoritatively applies (D50)."""
