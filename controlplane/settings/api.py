"""The API's settings: request limits, DRF, tokens (knox), the OpenAPI schema (drf-spectacular)."""

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from controlplane.settings.env import env_int

# Request size limits, documented in the README and enforced before parsing.
MAX_REQUEST_BYTES = env_int("BALLAST_MAX_REQUEST_BYTES", 10 * 1024 * 1024)
MAX_POINTS_PER_REQUEST = env_int("BALLAST_MAX_POINTS_PER_REQUEST", 50_000)
MAX_TRACE_UPLOAD_BYTES = env_int("BALLAST_MAX_TRACE_UPLOAD_BYTES", 20 * 1024 * 1024)
# The size middleware reads each body whole and holds each kind to its own limit first; Django's
# own check of a read body must then let the largest through (else a 15 MiB trace is its bare 400).
DATA_UPLOAD_MAX_MEMORY_SIZE = max(MAX_REQUEST_BYTES, MAX_TRACE_UPLOAD_BYTES)
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_TRACE_UPLOAD_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "apps.accounts.permissions.TokenScopesCover",  # a view setting its own lists it too
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "apps.kernel.api.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "apps.kernel.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "apps.kernel.openapi.AutoSchema",
    # drf-standardized-errors renders every error as an RFC 9457 problem (apps.kernel.problems).
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    # Parse NaN and Infinity so validation can refuse them by field name, instead of failing the
    # whole body with a parse error that names no field. Nothing non-finite is ever stored.
    "STRICT_JSON": False,
    # DRF's JSON parser, answering deep nesting with a 400, not a 500. Bodies are JSON (a form
    # cannot carry the nulls, lists and objects the schema describes; the schema documents what
    # is parsed): a form is a 415. Trace uploads set their own multipart parsers.
    "DEFAULT_PARSER_CLASSES": ["apps.kernel.parsers.JSONParser"],
}
# Errors the schema documents per operation (apps.kernel.openapi says which), each a problem;
# 409 and 202 are documented by the views that answer them.
ERROR_STATUS_CODES = ["400", "401", "403", "404", "405", "406", "413", "415", "500"]
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "apps.kernel.problems.ProblemHandler",
    "EXCEPTION_FORMATTER_CLASS": "apps.kernel.problems.ProblemFormatter",
    "ALLOWED_ERROR_STATUS_CODES": ERROR_STATUS_CODES,
    "ERROR_SCHEMAS": dict.fromkeys(ERROR_STATUS_CODES, "apps.kernel.problems.ProblemSerializer"),
}
KNOX_TOKEN_MODEL = "knox.AuthToken"  # named so that TokenGrant's migration can refer to it
# Tokens are stored hashed and expire after BALLAST_TOKEN_TTL_DAYS unless created with another
# lifetime (`create_api_token --days`); 0 makes them live until revoked.
TOKEN_TTL_DAYS = env_int("BALLAST_TOKEN_TTL_DAYS", 30)
if TOKEN_TTL_DAYS < 0:
    raise ImproperlyConfigured(f"BALLAST_TOKEN_TTL_DAYS must be >= 0, got {TOKEN_TTL_DAYS}")
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=TOKEN_TTL_DAYS) if TOKEN_TTL_DAYS else None,
    "AUTH_HEADER_PREFIX": "Token",
}
# The schema's tags, one per group of resources, in the order the docs list them; each operation
# gets one from its path (apps.kernel.openapi.RESOURCE_TAGS).
API_TAGS = {
    "workloads": "Inference workloads: their SLAs, model variants, deployment targets, metrics.",
    "metrics": "Prometheus metric sources, trace uploads, and the observations they record.",
    "forecasts": "Forecast runs of a workload's demand, and their points.",
    "plans": "Scaling plans (propose, choose, approve, apply, roll back), runs and schedules.",
    "guardrails": "Limits on plans, and the loosening changes that wait for a second person.",
    "control": "The live controller: controllers and the decisions they took.",
    "catalog": "The pricing catalog: providers, regions, instance types and offers.",
    "billing": "Billed costs, read from the cloud bill.",
    "webhooks": "Webhook subscriptions and their deliveries.",
    "tokens": "API tokens: create, list and revoke them; sign out.",
    "audit": "The audit trail, and its CSV export.",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ballast API",
    "DESCRIPTION": (
        "Workloads, SLAs, model variants, metrics and the pricing catalog of ML inference fleets. "
        "Authenticate machines with `Authorization: Token <key>` "
        "(see `manage.py create_api_token`); the browser uses its session."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "TAGS": [{"name": name, "description": text} for name, text in API_TAGS.items()],
    "ENUM_NAME_OVERRIDES": {
        "WorkloadKindEnum": "apps.workloads.models.Workload.Kind",
        "PurchaseOptionEnum": "apps.catalog.models.PurchaseOption",
        "PlanStatusEnum": "apps.plans.models.PlanStatus",
        "RunStatusEnum": "apps.kernel.runs.Run.Status",
        "WebhookDeliveryStatusEnum": "apps.webhooks.models.WebhookDelivery.Status",
        "WebhookEventEnum": "apps.webhooks.models.WebhookEvent",
    },
}
