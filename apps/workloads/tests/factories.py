"""factory_boy factories for workloads."""

import factory

from apps.accounts.models import Team
from apps.workloads.models import ModelVariant, Workload


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda team: team.slug.title())


class WorkloadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workload

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"workload-{n}")
    kind = Workload.Kind.ONLINE


class ModelVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVariant

    workload = factory.SubFactory(WorkloadFactory)
    name = factory.Sequence(lambda n: f"variant-{n}")
    accuracy = 0.9
    memory_mb = 2048
