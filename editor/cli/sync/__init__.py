"""`flint sync`: a folder in live two-way sync with a room (docs/CLI.md, "Sync")."""
