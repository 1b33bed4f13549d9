"""A workload's observed metrics: stored points, trace imports and Prometheus sources.

Also the checks on a source's server (`validate_base_url`, `prometheus_host_refusal`) and
query (`validate_promql`).
"""

import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from apps.accounts.models import TOKEN_ENV_NAME
from apps.workloads.models.workload import Workload, WorkloadChildQuerySet
from sources.prometheus import check_brackets

SERIES_NAME = RegexValidator(
    r"^[a-z][a-z0-9_]{0,63}$", "use lowercase letters, digits and '_', starting with a letter"
)


class MetricObservation(models.Model):
    """One value of one metric series of a workload at one instant; unique on (series, ts)."""

    workload = models.ForeignKey(Workload, models.CASCADE, related_name="observations")
    series = models.CharField(max_length=64, validators=[SERIES_NAME])
    ts = models.DateTimeField()
    value = models.FloatField()
    objects = WorkloadChildQuerySet.as_manager()

    class Meta:
        ordering = ["workload", "series", "ts"]
        constraints = [
            models.UniqueConstraint(
                fields=["workload", "series", "ts"], name="observation_unique_point"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workload_id}/{self.series}@{self.ts:%Y-%m-%dT%H:%M:%SZ}={self.value}"


class MetricRollup(models.Model):
    """An hour of a workload's series whose raw points retention deleted (workloads.retention).

    `hour` is the hour's start (UTC); `count` the raw points it summarises, `mean`, `min` and
    `max` their values. Readers of history (`apps.workloads.history`) read these hours on.
    """

    workload = models.ForeignKey(Workload, models.CASCADE, related_name="rollups")
    series = models.CharField(max_length=64, validators=[SERIES_NAME])
    hour = models.DateTimeField()
    count = models.PositiveIntegerField()
    mean = models.FloatField()
    min = models.FloatField()
    max = models.FloatField()
    objects = WorkloadChildQuerySet.as_manager()

    class Meta:
        ordering = ["workload", "series", "hour"]
        constraints = [
            models.UniqueConstraint(
                fields=["workload", "series", "hour"], name="rollup_unique_hour"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.workload_id}/{self.series}@{self.hour:%Y-%m-%dT%H}h={self.mean} x{self.count}"
        )


class TraceImport(models.Model):
    """An uploaded trace CSV, imported as observations by a worker."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    workload = models.ForeignKey(Workload, models.CASCADE, related_name="trace_imports")
    series = models.CharField(max_length=64, validators=[SERIES_NAME], default="requests")
    filename = models.CharField(max_length=255)
    content = models.BinaryField(help_text="the uploaded CSV, kept so any worker can read it")
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    message = models.TextField(blank=True)
    rows_imported = models.PositiveIntegerField(default=0)
    interval_s = models.PositiveIntegerField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    objects = WorkloadChildQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} -> {self.workload}/{self.series} ({self.status})"


HOSTNAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$")
PROMQL_TEMPLATE_VARIABLE = re.compile(r"\{([a-z_]+)\}")


def validate_base_url(url: str) -> None:
    """An http(s) URL without credentials, query or fragment: `/api/v1/...` is appended to it.

    Django's URLValidator is not used: it refuses single-label hosts such as
    `http://prometheus:9090`, the usual in-cluster address.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as exc:
        raise ValidationError(f"not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", url):
        raise ValidationError("use an http or https URL, e.g. http://prometheus:9090")
    if not (HOSTNAME.match(parts.hostname) or _is_ip_address(parts.hostname)):
        raise ValidationError(f"{parts.hostname!r} is not a host name or IP address")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "no credentials in the URL: put a token in an environment variable and name it in "
            "token_env"
        )
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValidationError("no query or fragment: give the server's base address")


def prometheus_host_refusal(url: str) -> str | None:
    """Why a metric source may not query `url`; None when its host is in `PROMETHEUS_HOSTS`.

    An entry `host` allows every port of that host, `host:port` (`[v6]:port`) only that port;
    names compare without case or a trailing dot, IP addresses as addresses.
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = _host_key(parts.hostname or "")
    for entry in settings.PROMETHEUS_HOSTS:
        allowed = urlsplit(f"//{entry.strip()}")
        if _host_key(allowed.hostname or "") == host and allowed.port in (None, port):
            return None
    return (
        f"{parts.hostname}:{port} is not an allowed Prometheus server: an operator lists them "
        "in BALLAST_PROMETHEUS_HOSTS, so that metric sources cannot reach other internal "
        "services"
    )


def _host_key(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower().rstrip(".")


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def validate_promql(promql: str) -> None:
    """Balanced brackets and strings; `{workload}` is the only template variable."""
    try:
        check_brackets(promql)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    for name in PROMQL_TEMPLATE_VARIABLE.findall(promql):
        if name != "workload":
            raise ValidationError(
                f"unknown template variable {{{name}}}: only {{workload}} is replaced"
            )


class MetricSource(models.Model):
    """A Prometheus range query whose one series fills one metric series of a workload.

    `promql` must return exactly one series (aggregate it: `sum(...)`); `{workload}` in it is
    replaced by the workload's name. Pulls start after the newest stored point (at most
    `lookback_h` ago) and land on multiples of `step_s` in unix time. A bearer token, when the
    server needs one, is read at pull time from the environment variable named by `token_env`,
    which an operator must have granted to the workload's team (`Team.prometheus_token_envs`):
    the token itself is never stored.
    """

    workload = models.ForeignKey(Workload, models.CASCADE, related_name="metric_sources")
    series = models.CharField(
        max_length=64,
        validators=[SERIES_NAME],
        help_text="the series it fills, e.g. requests, latency_p99_ms, cpu_utilization",
    )
    base_url = models.CharField(
        max_length=2000,
        validators=[validate_base_url],
        help_text="Prometheus's address, e.g. http://prometheus.monitoring:9090",
    )
    promql = models.TextField(
        max_length=8000,
        validators=[validate_promql],
        help_text='one series, e.g. sum(rate(http_requests_total{job="{workload}"}[1m]))',
    )
    step_s = models.PositiveIntegerField(default=60, help_text="resolution, at least 15 s")
    lookback_h = models.PositiveIntegerField(
        default=168, help_text="how far back the first pull (or one after a long pause) reaches"
    )
    token_env = models.CharField(
        max_length=64,
        blank=True,
        validators=[TOKEN_ENV_NAME],
        help_text="environment variable holding a bearer token, e.g. BALLAST_PROM_TOKEN",
    )
    enabled = models.BooleanField(default=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="why the latest pull failed; empty if not")
    last_error_at = models.DateTimeField(null=True, blank=True)
    points_last_pull = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    objects = WorkloadChildQuerySet.as_manager()

    class Meta:
        ordering = ["workload", "series"]
        constraints = [
            # Two sources writing one series would overwrite each other's points.
            models.UniqueConstraint(fields=["workload", "series"], name="metric_source_one_series"),
            models.CheckConstraint(condition=Q(step_s__gte=15), name="metric_source_step_gte_15"),
            models.CheckConstraint(
                condition=Q(lookback_h__gte=1, lookback_h__lte=2160),
                name="metric_source_lookback_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workload}/{self.series} <- {self.base_url}"
