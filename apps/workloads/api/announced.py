"""Writes through the API that announce what the row was and is (`workload_changed`)."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from knox.models import AuthToken

from apps.workloads.models import Workload
from apps.workloads.signals import workload_changed


class AnnouncedChangesMixin:
    """Create, update and destroy in one transaction with a `workload_changed` after each.

    A view sets `audit_subject` ("workload", "sla", ...). Before and after are the row as the
    API shows it, read again after the save so that nested rows (a variant's profiles) are
    current.
    """

    audit_subject = ""

    def perform_create(self, serializer):
        """Create, announced."""
        with transaction.atomic():
            instance = serializer.save()
            self._announce(instance, None, self._shown(instance))

    def perform_update(self, serializer):
        """Change, announced."""
        with transaction.atomic():
            before = self._shown(serializer.instance)
            instance = serializer.save()
            self._announce(instance, before, self._shown(instance))

    def perform_destroy(self, instance):
        """Remove, announced."""
        with transaction.atomic():
            before, workload = self._shown(instance), _workload_of(instance)
            workload_pk = workload.pk
            instance.delete()
            workload.pk = workload_pk  # Django clears a deleted row's pk; the trail keeps its id
            self._announce(instance, before, None, workload=workload)

    def _shown(self, instance) -> dict:
        fresh = type(instance).objects.get(pk=instance.pk)
        data = self.get_serializer(fresh).data
        return json.loads(json.dumps(data, cls=DjangoJSONEncoder))

    def _announce(self, instance, before, after, workload=None) -> None:
        via = "token" if isinstance(self.request.auth, AuthToken) else "api"
        workload_changed.send(
            type(instance),
            workload=workload or _workload_of(instance),
            subject=self.audit_subject,
            before=before,
            after=after,
            user=self.request.user,
            via=via,
        )


def _workload_of(instance) -> Workload:
    return instance if isinstance(instance, Workload) else instance.workload
