"""Management commands of the control app."""
