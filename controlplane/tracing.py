"""OpenTelemetry tracing, on only when an OTLP endpoint is configured.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, and
`OTEL_SDK_DISABLED` not `true`, each process exports its spans over OTLP/HTTP (protobuf):
Django's requests, Celery's task sends and runs (one trace from the request through its tasks),
PostgreSQL queries (psycopg), AWS calls (botocore) and outgoing HTTP (urllib for Prometheus and
webhooks, urllib3 for Kubernetes). The exporter reads the other standard variables itself
(`OTEL_EXPORTER_OTLP_HEADERS`, `..._TIMEOUT`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`); the service is `ballast-web`, `ballast-worker` or
`ballast-beat` unless `OTEL_SERVICE_NAME` names it.

Without an endpoint nothing of OpenTelemetry is imported: the web process stays lean.
"""

import os

_configured = False


def enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether an OTLP endpoint is configured and the SDK is not disabled."""
    environ = os.environ if environ is None else environ
    endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    return bool(endpoint) and environ.get("OTEL_SDK_DISABLED", "").lower() != "true"


def configure(service: str, *, django: bool = False) -> bool:
    """Export this process's spans, once; `django` instruments the web's requests too.

    Call it before Django builds its middleware (the web) and in the process that runs the
    tasks (a worker's pool process, beat). Returns whether tracing is on.
    """
    global _configured
    if _configured or not enabled():
        return _configured
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.urllib import URLLibInstrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    if django:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    BotocoreInstrumentor().instrument()
    URLLibInstrumentor().instrument()
    URLLib3Instrumentor().instrument()
    _configured = True
    return True


def connect_celery() -> None:
    """Trace each worker pool process (prefork or solo) and beat, when tracing is configured."""
    if not enabled():
        return
    from celery import signals

    signals.worker_process_init.connect(_trace_worker, weak=False)
    signals.beat_init.connect(_trace_beat, weak=False)


def _trace_worker(**_) -> None:
    configure("ballast-worker")


def _trace_beat(**_) -> None:
    configure("ballast-beat")
