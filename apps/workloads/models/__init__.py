"""Inference workloads, their SLAs, model variants, deployment targets and observed metrics.

`workload` holds the workload and what describes it, `metrics` what is observed of it; their
public names are importable from here, where callers (and migrations) import them.
"""

from apps.workloads.models.metrics import (
    SERIES_NAME,
    MetricObservation,
    MetricRollup,
    MetricSource,
    TraceImport,
    prometheus_host_refusal,
    validate_base_url,
    validate_promql,
)
from apps.workloads.models.workload import (
    MAX_ITEMS_PER_RUN,
    MAX_PEAK_RPS,
    SLA,
    CapacityProfile,
    DeploymentTarget,
    ModelVariant,
    Workload,
    WorkloadChildQuerySet,
    WorkloadQuerySet,
)

__all__ = [
    "MAX_ITEMS_PER_RUN",
    "MAX_PEAK_RPS",
    "SERIES_NAME",
    "SLA",
    "CapacityProfile",
    "DeploymentTarget",
    "MetricObservation",
    "MetricRollup",
    "MetricSource",
    "ModelVariant",
    "TraceImport",
    "Workload",
    "WorkloadChildQuerySet",
    "WorkloadQuerySet",
    "prometheus_host_refusal",
    "validate_base_url",
    "validate_promql",
]
