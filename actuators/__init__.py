"""Django-free actuators: one interface over dry-run, Kubernetes and AWS (issue 7)."""
