"""REST API: serializers, filters, views and routes."""
