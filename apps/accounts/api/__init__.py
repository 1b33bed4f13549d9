"""The accounts API: an API token's owner revokes it."""
