"""Webhook secrets and signatures.

Every delivery is a POST whose JSON body is signed with the webhook's secret:

    X-Ballast-Timestamp: 1767225600            (unix seconds when this attempt was sent)
    X-Ballast-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>

The secret is never stored. It is derived from SECRET_KEY, the webhook's id and its public salt,
shown once when the webhook is created and once on each `rotate-secret` (which changes the salt).
Changing SECRET_KEY therefore changes every webhook's secret: rotate them all afterwards.
"""

import hashlib
import hmac

from django.utils.crypto import salted_hmac

KEY_SALT = "ballast.webhooks"


def derive_secret(*, webhook_id: int, salt: str) -> str:
    """The signing secret of one webhook: 64 hex characters, used as the UTF-8 HMAC key."""
    return salted_hmac(KEY_SALT, f"{webhook_id}:{salt}", algorithm="sha256").hexdigest()


def sign_body(secret: str, *, timestamp: int, body: bytes) -> str:
    """The X-Ballast-Signature header for `body` sent at `timestamp` (unix seconds).

    The HMAC covers the timestamp so that a captured request cannot be replayed later with a
    fresh timestamp. Verifying a webhook (any language works the same way; Python here):

    ```python
    import hashlib, hmac, time

    def verify(secret: str, headers, body: bytes, tolerance_s: int = 300) -> bool:
        # `body` is the raw request body, before any JSON parsing.
        timestamp = headers["X-Ballast-Timestamp"]
        if abs(time.time() - int(timestamp)) > tolerance_s:
            return False  # too old (or a replay): refuse it
        mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        return hmac.compare_digest("sha256=" + mac.hexdigest(), headers["X-Ballast-Signature"])
    ```

    A delivery may arrive more than once (retries are at least once): deduplicate on the
    X-Ballast-Delivery header, a UUID that stays the same across attempts.
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
