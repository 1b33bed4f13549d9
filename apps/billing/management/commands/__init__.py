"""`manage.py pull_billing`."""
