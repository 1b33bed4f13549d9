import time

from django.test import override_settings

from apps.webhooks import services, signing
from apps.webhooks.tests.conftest import documented_verify
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookFactory


def signed_request(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "X-Ballast-Timestamp": str(timestamp),
        "X-Ballast-Signature": signing.sign_body(secret, timestamp=timestamp, body=body),
    }


def test_a_receiver_verifies_a_signature_with_the_documented_recipe():
    verify = documented_verify()
    body, now = b'{"event":"plan.approved"}', int(time.time())
    headers = signed_request("s3cret", body, now)

    assert verify("s3cret", headers, body)
    assert not verify("other", headers, body)
    assert not verify("s3cret", headers, body + b" ")
    assert not verify("s3cret", headers | {"X-Ballast-Timestamp": str(now + 1)}, body)


def test_an_old_timestamp_is_refused_by_the_documented_recipe():
    body, long_ago = b"{}", int(time.time()) - 3600

    assert not documented_verify()("s3cret", signed_request("s3cret", body, long_ago), body)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    # Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
    expected = "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"

    assert signing.sign_body("key", timestamp=1700000000, body=b"{}") == expected


def test_the_secret_depends_on_secret_key_id_and_salt(db):
    webhook = WebhookFactory()
    secret = services.secret_of(webhook)
    other = WebhookFactory(salt=webhook.salt)

    with override_settings(SECRET_KEY="another-key"):
        assert services.secret_of(webhook) != secret
    assert services.secret_of(other) != secret
    assert len(secret) == 64 and int(secret, 16) >= 0


def test_every_attempt_signs_the_same_body_with_a_fresh_timestamp(db):
    delivery = WebhookDeliveryFactory(payload={"cost_usd": "12.5000"})
    body = services.build_body(delivery)
    first = services.build_headers(delivery, body=body, timestamp=100)
    second = services.build_headers(delivery, body=services.build_body(delivery), timestamp=160)

    assert services.build_body(delivery) == body
    assert first["X-Ballast-Delivery"] == second["X-Ballast-Delivery"] == str(delivery.delivery_id)
    assert first["X-Ballast-Signature"] != second["X-Ballast-Signature"]
    assert first["X-Ballast-Event"] == "plan.approved"
    assert first["Content-Type"] == "application/json"
