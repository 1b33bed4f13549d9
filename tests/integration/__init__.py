"""Tests that run a real Celery worker process."""
