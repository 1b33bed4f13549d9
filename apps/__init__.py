"""Django apps: the shell around the Django-free libraries."""
