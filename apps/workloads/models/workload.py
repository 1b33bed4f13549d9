"""Inference workloads and what describes them: SLAs, model variants, deployment targets."""

from django.db import models
from django.db.models import Q

from actuators.targets import KINDS
from apps.accounts.models import TeamOwnedQuerySet
from optimization.purchase import OPTIONS

WorkloadQuerySet = TeamOwnedQuerySet


class Workload(models.Model):
    """An ML inference service (online) or job (batch) owned by one team."""

    class Kind(models.TextChoices):
        ONLINE = "online"
        BATCH = "batch"

    team = models.ForeignKey("accounts.Team", models.PROTECT, related_name="workloads")
    name = models.SlugField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    objects = WorkloadQuerySet.as_manager()

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="workload_unique_name"),
            models.CheckConstraint(condition=Q(kind__in=["online", "batch"]), name="workload_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id and self.team.slug}/{self.name}"


class WorkloadChildQuerySet(models.QuerySet):
    """Reads of rows that belong to a workload, scoped like the workload."""

    def visible_to(self, user):
        """Rows of the workloads the user may see."""
        return self.filter(workload__in=Workload.objects.visible_to(user))


MAX_PEAK_RPS = 1e9  # a billion requests a second: far past any one workload
MAX_ITEMS_PER_RUN = 1e12  # a trillion items a night: far past any one batch job


class SLA(models.Model):
    """What the workload promises: tail latency and availability (online) or a deadline (batch)."""

    workload = models.OneToOneField(Workload, models.CASCADE, related_name="sla")
    latency_percentile = models.FloatField(null=True, blank=True, help_text="online, e.g. 99")
    latency_target_ms = models.FloatField(null=True, blank=True, help_text="online")
    availability = models.FloatField(null=True, blank=True, help_text="online, e.g. 0.999")
    peak_rps = models.FloatField(
        null=True,
        blank=True,
        help_text="online: the load the latency target is promised up to; a new workload's "
        "first plan is sized for it until there is history to forecast",
    )
    min_accuracy = models.FloatField(
        null=True,
        blank=True,
        help_text="no variant below this accuracy is ever chosen, by a plan or the controller",
    )
    window_start_utc = models.TimeField(null=True, blank=True, help_text="batch: may start at")
    window_length_h = models.FloatField(
        null=True, blank=True, help_text="batch: must finish this many hours after the start"
    )
    items_per_run = models.FloatField(
        null=True,
        blank=True,
        help_text="batch: the items each run processes inside the window; a plan is made for it",
    )
    objects = WorkloadChildQuerySet.as_manager()

    class Meta:
        verbose_name = "SLA"
        constraints = [
            models.CheckConstraint(
                condition=Q(latency_percentile__isnull=True)
                | Q(latency_percentile__gt=0, latency_percentile__lt=100),
                name="sla_percentile_range",
            ),
            models.CheckConstraint(
                condition=Q(latency_target_ms__isnull=True) | Q(latency_target_ms__gt=0),
                name="sla_latency_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(availability__isnull=True) | Q(availability__gt=0, availability__lte=1),
                name="sla_availability_range",
            ),
            models.CheckConstraint(
                condition=Q(peak_rps__isnull=True) | Q(peak_rps__gt=0, peak_rps__lte=MAX_PEAK_RPS),
                name="sla_peak_rps_range",
            ),
            models.CheckConstraint(
                condition=Q(min_accuracy__isnull=True)
                | Q(min_accuracy__gte=0, min_accuracy__lte=1),
                name="sla_min_accuracy_range",
            ),
            models.CheckConstraint(
                condition=Q(items_per_run__isnull=True)
                | Q(items_per_run__gt=0, items_per_run__lte=MAX_ITEMS_PER_RUN),
                name="sla_items_per_run_range",
            ),
            models.CheckConstraint(
                condition=Q(window_length_h__isnull=True)
                | Q(window_length_h__gt=0, window_length_h__lte=168),
                name="sla_window_range",
            ),
        ]

    def __str__(self) -> str:
        return f"SLA of {self.workload}"


class ModelVariant(models.Model):
    """One servable version of the workload's model, with its accuracy and footprint."""

    workload = models.ForeignKey(Workload, models.CASCADE, related_name="variants")
    name = models.SlugField(max_length=64)
    version = models.CharField(max_length=64, blank=True)
    accuracy = models.FloatField(help_text="task metric in [0, 1], higher is better")
    memory_mb = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    objects = WorkloadChildQuerySet.as_manager()

    class Meta:
        ordering = ["workload", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workload", "name"], name="variant_unique_name"),
            models.CheckConstraint(
                condition=Q(accuracy__gte=0, accuracy__lte=1), name="variant_accuracy_range"
            ),
            models.CheckConstraint(condition=Q(memory_mb__gt=0), name="variant_memory_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.workload}:{self.name}"


class CapacityProfile(models.Model):
    """What one replica of a variant sustains on one instance type.

    Online: `max_rps` at the SLA's latency target. Batch: `items_per_s`. `service_time_ms` is the
    mean time one request takes on the replica, for the queueing models.
    """

    variant = models.ForeignKey(ModelVariant, models.CASCADE, related_name="capacity_profiles")
    instance_type = models.ForeignKey("catalog.InstanceType", models.PROTECT, related_name="+")
    max_rps = models.FloatField(null=True, blank=True)
    items_per_s = models.FloatField(null=True, blank=True)
    service_time_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["variant", "instance_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "instance_type"], name="profile_unique_instance_type"
            ),
            models.CheckConstraint(
                condition=Q(max_rps__gt=0) | Q(items_per_s__gt=0), name="profile_has_capacity"
            ),
            models.CheckConstraint(
                condition=Q(service_time_ms__isnull=True) | Q(service_time_ms__gt=0),
                name="profile_service_time_gt_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant} on {self.instance_type}"


class DeploymentTarget(models.Model):
    """Where the workload runs, by kind and reference only: credentials never live here."""

    # The kinds the actuators know (`actuators.targets.TARGET_KINDS`), as K8S_DEPLOYMENT = ...
    Kind = models.TextChoices("Kind", [(kind.upper(), kind) for kind in KINDS])

    workload = models.ForeignKey(Workload, models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=24, choices=Kind)
    reference = models.CharField(
        max_length=255, help_text="k8s: namespace/name; AWS: the resource's name or ARN"
    )

    # Every replica, or one purchase option's (`optimization.purchase.OPTIONS`).
    Pool = models.TextChoices(
        "Pool",
        [("ALL", ("", "all pools"))]
        + [(option.name.upper(), (option.name, option.label)) for option in OPTIONS],
    )

    dry_run = models.BooleanField(default=True, help_text="record what would be done, do nothing")
    pool = models.CharField(
        max_length=16,
        choices=Pool,
        default=Pool.ALL,
        blank=True,
        help_text="Kubernetes: the purchase option whose replicas this object carries, its pods "
        "pinned with the node selector karpenter.sh/capacity-type; empty: every replica",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    objects = WorkloadChildQuerySet.as_manager()

    class Meta:
        ordering = ["workload", "kind", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["workload", "kind", "reference"], name="target_unique_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.reference}"
