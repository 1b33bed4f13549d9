"""factory_boy factories for webhooks."""

import factory

from apps.webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from apps.workloads.tests.factories import TeamFactory


class WebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Webhook

    team = factory.SubFactory(TeamFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    events = factory.LazyFunction(lambda: list(WebhookEvent.values))


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    webhook = factory.SubFactory(WebhookFactory)
    event = WebhookEvent.PLAN_APPROVED
    payload = factory.LazyFunction(lambda: {"plan": 1, "status": "approved"})
