"""The plans tests' plannable workload and proposed plan, and signed-in page clients."""

import pytest
from django.test import Client


@pytest.fixture
def page_as(django_user_model):
    """A browser-like client signed in as `username`, enforcing CSRF when asked."""

    def sign_in(username: str, *, csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=csrf)
        client.force_login(django_user_model.objects.get(username=username))
        return client

    return sign_in
