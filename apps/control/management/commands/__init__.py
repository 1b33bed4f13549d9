"""`seed_demo`: the demo's sample data."""
