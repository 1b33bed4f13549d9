"""REST API of the live controller: its state and its decisions, read-only."""
