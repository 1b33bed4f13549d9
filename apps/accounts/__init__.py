"""Teams, roles scoped by team, and API tokens."""
