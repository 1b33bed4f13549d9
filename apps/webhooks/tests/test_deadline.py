"""A receiver that drips its answer a byte every 0.5 s cannot hold a worker past the deadline.

Each byte arrives well within a per-read timeout, so only a deadline on the whole exchange stops
it; these receivers are real sockets on 127.0.0.1.
"""

import socket
import threading
import time

import pytest

from apps.webhooks import services, transport
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookFactory

DRIP_S = 0.5
DEADLINE_S = 2.0


class DrippingReceiver:
    """Reads a request, sends `head` at once, then `drip` one byte every DRIP_S seconds."""

    def __init__(self, *, head: bytes = b"", drip: bytes) -> None:
        self.head = head
        self.drip = drip
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks"
        self.stop = threading.Event()
        self.requests = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)  # the request: headers and the small JSON body
                self.requests += 1
                try:
                    conn.sendall(self.head)
                    for byte in self.drip:
                        if self.stop.wait(DRIP_S):
                            break
                        conn.sendall(bytes([byte]))
                except OSError:  # the client gave up and closed
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.listener.close()


@pytest.fixture
def dripping():
    receivers = []

    def start(**kwargs) -> DrippingReceiver:
        receivers.append(DrippingReceiver(**kwargs))
        return receivers[-1]

    yield start
    for receiver in receivers:
        receiver.close()


ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone"


def post(url: str) -> tuple[transport.PostOutcome, float]:
    started = time.monotonic()
    outcome = transport.post_bytes(
        url, body=b"{}", headers={}, timeout_s=DEADLINE_S, allow_private=True
    )
    return outcome, time.monotonic() - started


def test_a_receiver_dripping_its_status_line_and_headers_is_cut_off_at_the_deadline(dripping):
    receiver = dripping(drip=ANSWER)  # 56 bytes: 28 s at 0.5 s each

    outcome, elapsed_s = post(receiver.url)

    assert DEADLINE_S <= elapsed_s < DEADLINE_S + 1.0
    assert outcome.status_code is None and not outcome.delivered and outcome.retryable
    assert outcome.error == f"TimeoutError: timed out: no complete answer within {DEADLINE_S:g} s"


def test_a_receiver_dripping_the_body_of_an_error_is_cut_off_at_the_deadline(dripping):
    head = b"HTTP/1.1 500 Oops\r\nContent-Length: 400\r\nConnection: close\r\n\r\n"
    receiver = dripping(head=head, drip=b"x" * 400)

    outcome, elapsed_s = post(receiver.url)

    assert DEADLINE_S <= elapsed_s < DEADLINE_S + 1.0
    assert outcome.status_code == 500 and outcome.retryable  # the answer came; its body did not
    assert (
        outcome.error
        == "HTTP 500: (body cut off: TimeoutError: timed out: no complete answer within 2 s)"
    )


def test_a_prompt_answer_within_the_deadline_is_delivered(dripping):
    receiver = dripping(head=ANSWER, drip=b"")

    outcome, elapsed_s = post(receiver.url)

    assert outcome.delivered and outcome.status_code == 200
    assert elapsed_s < 1.0


def test_a_2xx_whose_body_drips_is_delivered_without_waiting_for_the_body(dripping):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\n"
    receiver = dripping(head=head, drip=b"12345678")  # 4 s of body

    outcome, elapsed_s = post(receiver.url)

    assert outcome.delivered and elapsed_s < 1.0


@pytest.mark.django_db
def test_a_dripping_receiver_leaves_the_delivery_pending_with_a_retry(dripping, monkeypatch):
    receiver = dripping(drip=ANSWER)
    monkeypatch.setattr(services, "TIMEOUT_S", DEADLINE_S)
    delivery = WebhookDeliveryFactory(webhook=WebhookFactory(url=receiver.url))

    started = time.monotonic()
    retry_in_s = services.attempt_delivery(delivery.pk)

    assert time.monotonic() - started < DEADLINE_S + 1.0
    assert retry_in_s is not None and retry_in_s >= services.FIRST_RETRY_S
    waiting = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (waiting.status, waiting.attempts, waiting.last_status_code) == ("pending", 1, None)
    assert "within 2 s" in waiting.last_error
    assert receiver.requests == 1


def test_the_service_gives_every_attempt_a_ten_second_deadline():
    assert services.TIMEOUT_S == 10
