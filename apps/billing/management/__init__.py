"""Management commands for billing."""
