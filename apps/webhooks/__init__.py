"""Webhooks: signed notifications of plan events to team endpoints, retried with backoff."""
