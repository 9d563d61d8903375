"""Admin operations behind the CLI: import, backup and restore, verify, stats and doctor."""
