"""Deliveries to loopback, private or link-local addresses are refused unless allowed."""

import pytest

from apps.webhooks import transport


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/hook",
    ],
)
def test_non_public_addresses_are_refused_without_sending(url):
    outcome = transport.post_bytes(url, body=b"{}", headers={}, timeout_s=1)
    assert outcome.refused and not outcome.retryable and outcome.status_code is None
    assert "not a public address" in outcome.error


def test_the_operator_may_allow_them():
    outcome = transport.post_bytes(
        "http://127.0.0.1:9/hook", body=b"{}", headers={}, timeout_s=1, allow_private=True
    )
    assert not outcome.refused and outcome.retryable  # sent, and the connection was refused
