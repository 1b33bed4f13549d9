"""Where billed costs come from, and the cost lines they gave, one per day, tag and usage type.

A cost line is allocated to a workload by its cost allocation tag (`BillingSource.tag_key`,
`ballast:workload` by default) whose value names the workload as `<team slug>/<workload name>`.
Lines without the tag, or whose tag names no workload, are kept with no workload (and no team
when the team is unknown too): they are part of the bill, and only FinOps sees them.
"""

from django.db import models
from django.db.models import Q

from apps.accounts.models import TeamOwnedQuerySet

DEFAULT_TAG_KEY = "ballast:workload"


class BillingSource(models.Model):
    """One place the bill is read from, and how its last pull went."""

    class Kind(models.TextChoices):
        COST_EXPLORER = "cost_explorer", "AWS Cost Explorer"
        CUR = "cur", "AWS Cost and Usage Report 2.0 (S3)"
        OPENCOST = "opencost", "OpenCost allocation API"

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind)
    tag_key = models.CharField(
        max_length=128,
        default=DEFAULT_TAG_KEY,
        help_text="the cost allocation tag (AWS) or label (OpenCost) whose value is "
        "'<team slug>/<workload name>'",
    )
    settings = models.JSONField(
        default=dict,
        blank=True,
        help_text="cur: {'bucket', 'prefix'}; opencost: {'url'}; cost_explorer: none",
    )
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["cost_explorer", "cur", "opencost"]), name="billing_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class BilledCostQuerySet(TeamOwnedQuerySet):
    """Billed lines as each user may read them."""

    def visible_to(self, user):
        """Every line for FinOps; a team's members read its lines allocated to a workload."""
        from apps.accounts import roles  # roles imports the accounts models

        visible = super().visible_to(user)
        if user.is_authenticated and not roles.reads_all_teams(user):
            visible = visible.filter(workload__isnull=False)
        return visible


class BilledCost(models.Model):
    """What one day of one usage type under one tag value cost at one option, as billed."""

    class PurchaseOption(models.TextChoices):
        ON_DEMAND = "on_demand"
        SPOT = "spot"
        RESERVED = "reserved"
        SAVINGS_PLAN = "savings_plan"
        SERVERLESS = "serverless"
        OTHER = "other"

    source = models.ForeignKey(BillingSource, models.CASCADE, related_name="costs")
    day = models.DateField(help_text="the usage day (UTC)")
    team = models.ForeignKey(
        "accounts.Team", models.SET_NULL, null=True, blank=True, related_name="billed_costs"
    )
    workload = models.ForeignKey(
        "workloads.Workload",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="billed_costs",
    )
    tag_value = models.CharField(
        max_length=200, blank=True, help_text="the allocation tag's value as billed; '' untagged"
    )
    usage_type = models.CharField(max_length=128)
    purchase_option = models.CharField(max_length=16, choices=PurchaseOption)
    amount_usd = models.DecimalField(max_digits=14, decimal_places=6)

    objects = BilledCostQuerySet.as_manager()

    class Meta:
        ordering = ["day", "tag_value", "usage_type"]
        constraints = [
            # One usage type can be bought two ways in a day (part of BoxUsage covered by a
            # Savings Plan, the rest on demand): the bill keeps both, and so do we.
            models.UniqueConstraint(
                fields=["source", "day", "tag_value", "usage_type", "purchase_option"],
                name="billed_cost_unique_line",
            ),
        ]
        indexes = [models.Index(fields=["day", "team", "workload"])]

    def __str__(self) -> str:
        return f"{self.day} {self.tag_value or '(untagged)'} {self.usage_type}: ${self.amount_usd}"
