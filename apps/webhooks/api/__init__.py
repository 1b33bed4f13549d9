"""REST API: serializers, views and routes."""
