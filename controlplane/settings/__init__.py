"""The settings for every environment, driven by `BALLAST_*`, `DATABASE_URL` and Celery env.

Defaults suit a first run on one machine (SQLite, a filesystem broker, a real worker process);
production sets DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis). Secrets come only from the
environment: `make demo` writes a generated BALLAST_SECRET_KEY into var/demo.env. The API's
settings live in `api.py` beside this file; the environment readers in `env.py`.
"""

import os
from datetime import timedelta

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from controlplane.logging_setup import config as logging_config
from controlplane.logging_setup import log_format
from controlplane.settings.api import (  # noqa: F401 (Django reads them here)
    DATA_UPLOAD_MAX_MEMORY_SIZE,
    DRF_STANDARDIZED_ERRORS,
    FILE_UPLOAD_MAX_MEMORY_SIZE,
    KNOX_TOKEN_MODEL,
    MAX_POINTS_PER_REQUEST,
    MAX_REQUEST_BYTES,
    MAX_TRACE_UPLOAD_BYTES,
    REST_FRAMEWORK,
    REST_KNOX,
    SPECTACULAR_SETTINGS,
    TOKEN_TTL_DAYS,
)
from controlplane.settings.env import BASE_DIR, VAR_DIR, env_bool, env_int, env_list

try:
    SECRET_KEY = os.environ["BALLAST_SECRET_KEY"]
except KeyError:
    raise ImproperlyConfigured(
        "BALLAST_SECRET_KEY is not set; `make demo` generates one into var/demo.env"
    ) from None
DEBUG = env_bool("BALLAST_DEBUG", default=False)
# `production`: HTTPS only, HSTS, secure cookies, PostgreSQL and Redis required, JSON logs.
PROFILE = os.environ.get("BALLAST_SETTINGS_PROFILE", "local")
if PROFILE not in ("local", "production"):
    raise ImproperlyConfigured(
        f"BALLAST_SETTINGS_PROFILE must be 'local' or 'production', got {PROFILE!r}"
    )
PRODUCTION = PROFILE == "production"
if PRODUCTION and (DEBUG or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "production needs BALLAST_DEBUG=false and a BALLAST_SECRET_KEY of 50+ random characters"
    )
ALLOWED_HOSTS = env_list("BALLAST_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("BALLAST_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django_prometheus",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_standardized_errors",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "controlplane",  # loads the Celery app at start (controlplane/apps.py)
    "apps.accounts",
    "apps.catalog",
    "apps.workloads",
    "apps.forecasts",
    "apps.plans",
    "apps.webhooks",
    "apps.billing",
    "apps.actuation",
    "apps.control",
    "apps.simulations",
    "apps.dashboard",
]

MIDDLEWARE = [
    "controlplane.logging_setup.RequestIdMiddleware",  # X-Request-ID, on every record it logs
    "controlplane.health.HealthMiddleware",  # probes first: no host check, no session
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "controlplane.middleware.RequestSizeLimitMiddleware",
    "controlplane.staticfiles.StaticFilesMiddleware",  # WhiteNoise, hashed files cached a year
    "django.contrib.sessions.middleware.SessionMiddleware",
    "controlplane.refusals.RefusalAuditMiddleware",  # outside CSRF, auth and axes: sees theirs
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx: a page's part asked for by htmx
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # after the others: it answers a locked-out sign-in
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "controlplane.urls"
WSGI_APPLICATION = "controlplane.wsgi.application"
ASGI_APPLICATION = "controlplane.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ballast.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker) share the demo database: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-ins pass through django-axes first: after BALLAST_LOGIN_FAILURE_LIMIT wrong passwords for
# one username from one address, that pair is refused (429, templates/registration/locked_out.html)
# for BALLAST_LOGIN_LOCKOUT_MINUTES, counted from the last failure. Both the sign-in page and the
# admin's go through authenticate(), so both are covered. The address is REMOTE_ADDR: behind a
# proxy that is the proxy's, and the lockout becomes one per username.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("BALLAST_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("BALLAST_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"


def _remote_addr(request) -> str | None:
    """The peer's address: X-Forwarded-For is never trusted here, so it cannot dodge a lockout."""
    return request.META.get("REMOTE_ADDR")


AXES_CLIENT_IP_CALLABLE = _remote_addr
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve static files by their plain names straight from the app folders too (cached briefly).
WHITENOISE_USE_FINDERS = True
# `collectstatic` (make demo, the image) writes each file under a name with its content's hash,
# beside its .br and .gz: WhiteNoise serves those compressed and cached for a year (immutable).
# Pages then name the hashed files, which needs collectstatic first unless DEBUG is on. The tests
# serve plain names (tests/static_storage.py sets this false), so they need no collectstatic;
# apps/dashboard/tests/test_static_files.py checks the hashed storage.
STATIC_HASHED = env_bool("BALLAST_STATIC_HASHED", default=True)
WHITENOISE_KEEP_ONLY_HASHED_FILES = True  # the plain names are still served from the finders
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_HASHED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Celery: Redis in production; the demo default is a broker that needs no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if PRODUCTION and (
    DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
    or not CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
):
    raise ImproperlyConfigured(
        "production needs DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis); the SQLite "
        "and filesystem defaults are for one machine"
    )
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    # Kombu's filesystem transport, keeping each message taken until it is acknowledged so that
    # an interrupted task runs again when the worker starts next (controlplane/broker.py).
    CELERY_BROKER_TRANSPORT = "controlplane.broker:Transport"
    # The filesystem transport needs its folders before the first message is sent.
    for _folder in ("queue", "processed", "control", "in-flight"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "in_flight_folder": str(_broker_dir / "in-flight"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("BALLAST_TASKS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
# Results are rows; the backend holds only the parts of a chord (a plan's replays) for its body,
# in the same database, so the demo needs no other server.
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXPIRES = timedelta(days=1)  # celery beat's backend_cleanup deletes older ones
CELERY_RESULT_EXTENDED = True  # a stored result names its task
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Every task's time limits (s) unless its decorator names its own (apps.kernel.tasks): the soft
# one raises inside the task, which records why; the hard one kills it. Every hard limit stays
# under apps.kernel.runs.STALE_AFTER (30 min) and Redis's visibility timeout (1 h).
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 660
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The live controller's tick: each enabled workload is stepped this often (apps/control).
CONTROL_STEP_S = env_int("BALLAST_CONTROL_STEP_S", 60)
CONTROL_KEEP_DAYS = env_int("BALLAST_CONTROL_KEEP_DAYS", 14)  # decisions kept (hourly audit: all)
# `make demo` only: replay the sample traces as live metrics (apps/control/demo.py).
DEMO_FEED = env_bool("BALLAST_DEMO_FEED", default=False)
# Prometheus pulls: one task per this many enabled sources each minute (apps/workloads/pulls.py).
METRIC_PULL_BATCH = env_int("BALLAST_METRIC_PULL_BATCH", 200)
# Raw observations are kept this many days, then rolled up into hourly rows kept this many days
# (apps/workloads/retention.py; readers see both, apps/workloads/history.py).
OBSERVATIONS_RAW_DAYS = env_int("BALLAST_OBSERVATIONS_RAW_DAYS", 14)
OBSERVATIONS_ROLLUP_DAYS = env_int("BALLAST_OBSERVATIONS_ROLLUP_DAYS", 400)


def _every(task: str, seconds: float) -> dict:
    """A beat entry whose message expires before the next one is sent (an hour at most)."""
    return {"task": task, "schedule": seconds, "options": {"expires": min(seconds * 0.9, 3600)}}


# Celery beat (run by `celery beat`, or `worker -B` in the demo). A backlog holds no stale tick:
# each entry expires before the next, and so do the per-item tasks the fan-outs queue.
CELERY_BEAT_SCHEDULE = {
    "expire-plans": _every("apps.plans.tasks.expire_plans", 60.0),
    "control": _every("apps.control.tasks.control_tick", CONTROL_STEP_S),
    "batch-schedules": _every("apps.plans.tasks.enact_batch_schedules", 60.0),
    "control-prune": _every("apps.control.tasks.prune_control_history", 86400.0),
    "scheduled-plans": _every("apps.plans.tasks.request_scheduled_plans", 60.0),
    "pull-metric-sources": _every("apps.workloads.tasks.pull_all_metric_sources", 60.0),
    "observation-retention": _every("apps.workloads.tasks.apply_observation_retention", 3600.0),
    "webhook-requeue": _every("apps.webhooks.tasks.requeue_overdue_webhook_deliveries", 300.0),
    # Plans left in draft or applying by a lost task end failed (apps/plans/sweeper.py).
    "sweep-stuck-plans": _every("apps.plans.tasks.sweep_stuck_plans", 300.0),
    # The bill's last days, reread daily from every billing source (apps/billing/tasks.py).
    "pull-billing": _every("apps.billing.tasks.pull_all_billing_sources", 86400.0),
}
if DEMO_FEED:
    CELERY_BEAT_SCHEDULE["demo-feed"] = _every("apps.control.tasks.feed_demo_metrics", 60.0)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Actuators: connections from configuration; each team acts as the identity an operator granted
# it (apps/actuation/identity.py). A team with none granted uses the process's own identity only
# when this is true; otherwise its live targets are refused.
ACTUATOR_DEFAULT_IDENTITY = env_bool("BALLAST_ACTUATOR_DEFAULT_IDENTITY", default=False)
KUBE_MODE = os.environ.get("BALLAST_KUBE_MODE", "")  # "", "in-cluster" or "kubeconfig"
KUBECONFIG = os.environ.get("BALLAST_KUBECONFIG", "")
KUBE_CONTEXT = os.environ.get("BALLAST_KUBE_CONTEXT") or None
AWS_ENABLED = env_bool("BALLAST_AWS_ENABLED", default=False)
AWS_REGION = os.environ.get("BALLAST_AWS_REGION", "us-east-1")
AWS_ENDPOINT_URL = os.environ.get("BALLAST_AWS_ENDPOINT_URL", "")

# Webhooks to loopback, private or link-local addresses are refused unless this is true.
WEBHOOK_ALLOW_PRIVATE = env_bool("BALLAST_WEBHOOK_ALLOW_PRIVATE", default=False)

# The Prometheus servers metric sources may query (`host` or `host:port`, comma-separated; none
# by default): named by the operator, so no team can point a worker at another internal service.
PROMETHEUS_HOSTS = env_list("BALLAST_PROMETHEUS_HOSTS", "")

# A proposed or approved plan expires after this long.
PLAN_TTL_MINUTES = env_int("BALLAST_PLAN_TTL_MINUTES", 120)
# Each candidate of a plan is replayed over this much of the workload's newest history.
PLAN_REPLAY_HOURS = env_int("BALLAST_PLAN_REPLAY_HOURS", 24)
# The most a team's auto-approve rule may let through without a second person, operator-wide.
AUTO_APPROVE_MAX_CHANGE_PCT = env_int("BALLAST_AUTO_APPROVE_MAX_CHANGE_PCT", 10)
AUTO_APPROVE_MAX_USD_PER_DAY = env_int("BALLAST_AUTO_APPROVE_MAX_USD_PER_DAY", 50)

# Refused writes on the audit trail, at most this many a minute per user (or anonymous address)
# and for everyone together; past a bound one `refused.throttled` event marks the minute.
AUDIT_REFUSALS_PER_MINUTE = env_int("BALLAST_AUDIT_REFUSALS_PER_MINUTE", 10)
AUDIT_REFUSALS_PER_MINUTE_TOTAL = env_int("BALLAST_AUDIT_REFUSALS_PER_MINUTE_TOTAL", 300)

# /metrics: closed (403) unless a bearer token is set, or it is explicitly made public for a
# scraper on a trusted network (see controlplane/metrics.py).
METRICS_TOKEN = os.environ.get("BALLAST_METRICS_TOKEN", "")
METRICS_PUBLIC = env_bool("BALLAST_METRICS_PUBLIC", default=False)
# /readyz fails once the broker has been unreachable this long, not at once (controlplane/health).
READY_BROKER_GRACE_S = env_int("BALLAST_READY_BROKER_GRACE_S", 120)

# Logs: plain lines for people, one JSON object per line for log pipelines (production default);
# the same config for gunicorn (gunicorn.conf.py) and Celery (controlplane/logging_celery.py).
try:
    LOG_FORMAT = log_format()
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
LOGGING = logging_config(LOG_FORMAT, os.environ.get("BALLAST_LOG_LEVEL", "INFO"))
LOGGING_CONFIG = "controlplane.logging_setup.apply"  # dictConfig, and warnings as records

# Content-Security-Policy (django-csp): the pages' own scripts carry the request's nonce
# (`<script nonce="{{ request.csp_nonce }}">`), every other script comes from this origin
# (plotly.js too); no inline script without the nonce, no eval. Styles may be inline: plotly.js
# writes its stylesheet rules and style attributes at run time.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG and env_bool("BALLAST_HTTPS", default=PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("BALLAST_HSTS_SECONDS", 31_536_000 if PRODUCTION else 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("BALLAST_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("BALLAST_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading a domain into browsers is the operator's commitment, not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
