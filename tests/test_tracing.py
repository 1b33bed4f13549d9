"""OpenTelemetry: spans reach an OTLP/HTTP receiver when an endpoint is set; nothing loads without.

The receiver is a small HTTP server in the test that decodes what the real exporter POSTs
(protobuf `ExportTraceServiceRequest` on /v1/traces).
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from controlplane.celery import app as celery_app
from tests.integration.conftest import database_url
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


class Receiver(ThreadingHTTPServer):
    """Collects the spans POSTed to /v1/traces, each as (service name, span)."""

    def __init__(self):
        self.spans: list[tuple[str, object]] = []
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def endpoint(self) -> str:
        """The value of OTEL_EXPORTER_OTLP_ENDPOINT for this receiver."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def wait_for(self, predicate, seconds: float, what: str) -> list:
        """The spans that satisfy `predicate`, once there is one."""
        deadline = time.monotonic() + seconds
        while not (found := [(s, span) for s, span in list(self.spans) if predicate(s, span)]):
            assert time.monotonic() < deadline, f"no span for {what}; got {self.names()}"
            time.sleep(0.2)
        return found

    def names(self) -> list[tuple[str, str]]:
        """(service, span name) of every span received."""
        return [(service, span.name) for service, span in self.spans]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.paths.append(self.path)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.server.spans.append((attributes.get("service.name"), span))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def attributes(span) -> dict:
    """A span's attributes, strings and integers."""
    return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}


def start(args: list[str], tmp_path: Path, name: str, env: dict) -> subprocess.Popen:
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def tracing_env(receiver: Receiver) -> dict[str, str]:
    """This process's environment, tracing to the receiver, with spans sent within 0.1 s."""
    return os.environ | {
        "DATABASE_URL": database_url(),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }


@pytest.mark.slow
def test_a_web_request_s_spans_reach_the_otlp_endpoint(receiver, transactional_db, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "controlplane.wsgi", "-b", f"127.0.0.1:{port}"]
    web = start(command, tmp_path, "gunicorn", tracing_env(receiver))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.3)
        request = receiver.wait_for(
            lambda service, span: service == "ballast-web" and span.kind == span.SPAN_KIND_SERVER,
            30,
            "the request",
        )[0][1]
        # The readiness check's query runs inside the request: a psycopg span of the same trace.
        receiver.wait_for(
            lambda service, span: (
                span.trace_id == request.trace_id
                and attributes(span).get("db.system") == "postgresql"
            ),
            30,
            "the request's query",
        )
    finally:
        web.terminate()
        web.wait(timeout=30)
    assert set(receiver.paths) == {"/v1/traces"}
    assert request.name.startswith("GET")


@pytest.mark.integration
def test_a_task_s_run_is_traced_in_the_worker(receiver, transactional_db, tmp_path):
    command = [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "-Q", "control"]
    command += ["--pool=prefork", "--concurrency=1", "-n", "tracing@%h", "--without-mingle"]
    worker = start(command, tmp_path, "worker", tracing_env(receiver))
    try:
        sent = celery_app.send_task("apps.plans.tasks.expire_plans", queue="control")
        run = receiver.wait_for(
            lambda service, span: service == "ballast-worker" and span.name.startswith("run/"),
            90,
            "the task's run",
        )[0][1]
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert attributes(run)["celery.task_name"] == "apps.plans.tasks.expire_plans"
    assert attributes(run)["messaging.message.id"] == sent.id


# What tracing would load: the trace SDK, the exporter, the instrumentations. (redis-py imports
# opentelemetry.sdk.metrics whenever the SDK is installed, for its own opt-in metrics; that is
# not counted here, see docs/operations.md.)
TRACING_MODULES = (
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
)
PROBE = f"""
import json, sys
from django.test import Client
import controlplane.wsgi
from controlplane.celery import app
Client().get("/healthz")
print(json.dumps(sorted({{m for m in sys.modules if m.startswith({TRACING_MODULES!r})}})))
"""


@pytest.mark.parametrize("endpoint", ["", "http://127.0.0.1:9"])
def test_tracing_is_imported_only_when_an_endpoint_is_set(endpoint):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "60000"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    if endpoint:
        assert {prefix for prefix in TRACING_MODULES if prefix in loaded} == set(TRACING_MODULES)
        assert "opentelemetry.instrumentation.django" in loaded
    else:
        assert loaded == []
