"""Load the demo: teams, users in each role, sample workloads, guardrails, a plan schedule, traces.

The bill is a CUR 2.0 sample for the last 30 days (apps/billing/demo.py), rewritten and pulled
again on each run so its days stay recent. Otherwise idempotent: running it again leaves what
exists alone. New users get random passwords, written
with the CI token (which expires after BALLAST_TOKEN_TTL_DAYS, 30 by default) to
var/demo-logins.txt, kept out of git and readable only by its owner (mode 0600). The command
prints where they are, and the logins themselves only with --show-logins: its output is often
redirected to a log file, which must not hold them.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from apps.accounts.models import FINOPS_GROUP, Role, Team, TeamMembership
from apps.billing.demo import seed_demo_billing
from apps.catalog.models import InstanceType
from apps.control.demo import shifted_to_now
from apps.control.services import enable_controller
from apps.plans.models import Guardrail, PlanSchedule
from apps.workloads import services
from apps.workloads.models import SLA, CapacityProfile, DeploymentTarget, ModelVariant, Workload

TRACES = Path(settings.BASE_DIR) / "data" / "traces"

TEAMS = {"ml-platform": "ML Platform", "creative": "Creative AI"}
# What each team's targets may name (`Team.target_references`), as an operator would grant.
TARGET_REFERENCES = {
    "ml-platform": [
        "ml/*",
        "embedding-refresh*",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/ranker/*",
    ],
    "creative": ["image-gen/*"],
}
USERS = [
    # username, team, role; "admin" is a superuser, "finops" is organisation-wide.
    ("admin", None, "superuser"),
    ("finops", None, FINOPS_GROUP),
    ("sre-ml", "ml-platform", Role.SRE),
    ("sre-ml-2", "ml-platform", Role.SRE),
    ("ci-ml", "ml-platform", Role.CI),
    ("sre-creative", "creative", Role.SRE),
]
WORKLOADS = [
    {
        "team": "ml-platform",
        "name": "ranker",
        "kind": "online",
        "description": "Online ranking service; traffic shape: NASA HTTP, July 1995 (real).",
        "sla": {"latency_percentile": 99, "latency_target_ms": 100, "availability": 0.999},
        "variants": [
            ("ranker-small", 0.905, 2048, [("c6i.xlarge", 60, 30), ("g4dn.xlarge", 400, 8)]),
            ("ranker-large", 0.931, 6144, [("g5.xlarge", 260, 14), ("g6.xlarge", 230, 15)]),
        ],
        "targets": [
            ("k8s_deployment", "ml/ranker"),
            # the serverless share: the ALB listener's weight on its Lambda target group
            (
                "aws_alb_route",
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/ranker/"
                "6d0ecf831eec9f09/3b8ec5c8a4b06f5e",
            ),
        ],
        "trace": "nasa_http_1995-07_1min.csv",
        "plan_every_minutes": 60,
    },
    {
        "team": "ml-platform",
        "name": "embedding-refresh",
        "kind": "batch",
        "description": "Nightly re-embedding of the catalog on spot with checkpoints.",
        # 20 M items: about 6 replica-hours on g4dn.xlarge, inside a 6 h window
        "sla": {"window_start_utc": "01:00", "window_length_h": 6, "items_per_run": 20_000_000},
        "variants": [
            ("embedder-base", 0.88, 4096, [("g4dn.xlarge", 900, None), ("g5.xlarge", 1500, None)])
        ],
        "targets": [("aws_asg", "embedding-refresh-spot")],
        "trace": None,
        "plan_every_minutes": 1440,  # a plan for each night's run
    },
    {
        "team": "creative",
        "name": "image-gen",
        "kind": "online",
        "description": "Diffusion image generation; traffic: Alibaba GenAI trace 2024 (real).",
        "sla": {"latency_percentile": 95, "latency_target_ms": 30000, "availability": 0.99},
        "variants": [("sd-lora", 0.8, 16384, [("g5.2xlarge", 0.05, 20000)])],
        "targets": [("sagemaker_variant", "image-gen/AllTraffic")],
        "trace": "alibaba_genai_sd_requests_2024_1min.csv",
    },
]


class Command(BaseCommand):
    """`manage.py seed_demo`."""

    help = "Create demo teams, users, workloads and queue imports of sample traces."

    def add_arguments(self, parser):
        """--show-logins."""
        parser.add_argument(
            "--show-logins",
            action="store_true",
            help="also print the logins file (passwords and the CI token) on stdout",
        )

    def handle(self, *args, show_logins: bool = False, **options):
        """Catalog, then people, then workloads; write the new logins, say where they are."""
        call_command("import_catalog", stdout=self.stdout)
        logins_file = Path(settings.VAR_DIR) / "demo-logins.txt"
        with transaction.atomic():
            lines = self._people()
            admin = get_user_model().objects.get(username="admin")
            for spec in WORKLOADS:
                self._workload(spec, admin)
            Guardrail.objects.get_or_create(
                team=Team.objects.get(slug="ml-platform"),
                defaults={"budget_per_day_usd": 400, "min_replicas": 1, "max_scale_step": 20},
            )
        # The bill as a CUR 2.0 sample for the last 30 days, pulled like a real export.
        bill = seed_demo_billing(today=timezone.now().date())
        self.stdout.write(f"Billing source {bill.name}: {bill.last_error or 'pulled'}.")
        if lines:
            write_private(logins_file, "".join(f"{line}\n" for line in lines))
        if not logins_file.exists():
            return
        self.stdout.write(f"Demo logins ({len(lines)} new) are in {logins_file} (mode 0600).")
        if show_logins:
            self.stdout.write(logins_file.read_text())

    def _people(self) -> list[str]:
        lines = []
        for slug, name in TEAMS.items():
            Team.objects.get_or_create(
                slug=slug, defaults={"name": name, "target_references": TARGET_REFERENCES[slug]}
            )
        for username, team, role in USERS:
            user, created = get_user_model().objects.get_or_create(username=username)
            if not created:
                continue
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.is_staff = user.is_superuser = role == "superuser"
            user.save()
            if role == FINOPS_GROUP:
                user.groups.add(Group.objects.get_or_create(name=FINOPS_GROUP)[0])
            elif team:
                TeamMembership.objects.create(
                    team=Team.objects.get(slug=team), user=user, role=role
                )
            lines.append(f"login  {username:<13} password {password}   ({team or ''} {role})")
            if role == Role.CI:
                _, token = AuthToken.objects.create(user)  # expires after the TOKEN_TTL
                lines.append(f"token  {username:<13} Authorization: Token {token}")
        return lines

    def _workload(self, spec: dict, admin) -> None:
        team = Team.objects.get(slug=spec["team"])
        workload, created = Workload.objects.get_or_create(
            team=team,
            name=spec["name"],
            defaults={"kind": spec["kind"], "description": spec["description"]},
        )
        if not created:
            return
        SLA.objects.create(workload=workload, **spec["sla"])
        for name, accuracy, memory_mb, profiles in spec["variants"]:
            variant = ModelVariant.objects.create(
                workload=workload, name=name, accuracy=accuracy, memory_mb=memory_mb
            )
            measure = "max_rps" if workload.kind == Workload.Kind.ONLINE else "items_per_s"
            for instance_name, capacity, service_time_ms in profiles:
                CapacityProfile.objects.create(
                    variant=variant,
                    instance_type=InstanceType.objects.get(name=instance_name),
                    service_time_ms=service_time_ms,
                    **{measure: capacity},
                )
        for kind, reference in spec["targets"]:
            DeploymentTarget.objects.create(workload=workload, kind=kind, reference=reference)
        if spec.get("plan_every_minutes"):
            # The first scheduled plan comes ~5 minutes after start, once the trace is in.
            every = spec["plan_every_minutes"]
            PlanSchedule.objects.create(
                workload=workload,
                every_minutes=every,
                requested_by=get_user_model().objects.get(username="ci-ml"),
                last_requested_at=timezone.now() - timedelta(minutes=every - 5),
            )
        if spec["trace"]:
            # Moved to end now, the trace is the workload's recent history, and the controller
            # (on its dry-run target) follows it as the demo feed continues it minute by minute.
            path = TRACES / spec["trace"]
            services.queue_trace_import(
                workload=workload,
                series="requests",
                filename=path.name,
                content=shifted_to_now(path.read_bytes(), timezone.now()),
                by=admin,
            )
            if workload.kind == Workload.Kind.ONLINE:
                enable_controller(workload=workload)


def write_private(path: Path, text: str) -> None:
    """Append `text` to `path`, a file only its owner may read or write (0600) from its creation.

    The mode is given when the file is created, so it is never readable by others, even for a
    moment; a file that already exists with a looser mode is tightened before the write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
