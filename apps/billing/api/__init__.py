"""The billing API: billed cost lines, read-only."""
