"""Django-free trace-driven simulator: cluster model, policies, metrics (issue 5)."""
