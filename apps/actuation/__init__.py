"""Applying approved plans to deployment targets: steps, read-back, rollback."""
