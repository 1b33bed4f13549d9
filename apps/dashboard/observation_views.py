"""Deleting a range of a workload's observations from its page: preview, confirm, done.

The form on the workload page asks for a series and a range (UTC); this page shows how many
points the range holds and asks for a confirmation, and the confirmation deletes them through
the same service as the API (`apps.control.observations`: the team's SREs only, audited as
`observations.deleted`). A refusal answers 403 with the reason on the page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from apps.accounts import roles
from apps.control import observations
from apps.control.api.serializers import ObservationRangeSerializer
from apps.workloads.models import MetricObservation, Workload

FIELDS = ("series", "from", "to", "comment")
TEMPLATE = "dashboard/delete_observations.html"


def may_delete(request, workload: Workload) -> bool:
    """Whether the signed-in user may delete the workload's observations (its SREs)."""
    return _refusal(request, workload) is None


@login_required
def delete_observations(request, workload_id: int):
    """GET: how many points the range holds, with the confirmation. POST: delete them."""
    workload = get_object_or_404(
        Workload.objects.visible_to(request.user).select_related("team"), pk=workload_id
    )
    source = request.POST if request.method == "POST" else request.GET
    form = ObservationRangeSerializer(data={k: source[k] for k in FIELDS if k in source})
    context = {"workload": workload, "values": {k: source.get(k, "") for k in FIELDS}}
    if refusal := _refusal(request, workload):
        return render(request, TEMPLATE, context | {"refusal": refusal}, status=403)
    if not form.is_valid():
        errors = [f"{name}: {' '.join(map(str, found))}" for name, found in form.errors.items()]
        return render(request, TEMPLATE, context | {"errors": errors}, status=400)
    data = form.validated_data
    if request.method != "POST":
        points = MetricObservation.objects.filter(
            workload=workload, series=data["series"], ts__gte=data["from"], ts__lt=data["to"]
        ).count()
        return render(request, TEMPLATE, context | {"range": data, "points": points})
    result = observations.delete_observations(
        workload=workload,
        series=data["series"],
        start=data["from"],
        end=data["to"],
        user=request.user,
        via="page",
        comment=data["comment"],
    )
    messages.success(
        request,
        f"Deleted {result.deleted} points of {data['series']} from {data['from']:%Y-%m-%d %H:%M} "
        f"to {data['to']:%Y-%m-%d %H:%M} UTC (audit event {result.audit_event_id}).",
    )
    return redirect("dashboard:workload", workload_id=workload.pk)


def _refusal(request, workload: Workload) -> str | None:
    return roles.authorize(request.user, None, workload.team, roles.DELETE_OBSERVATIONS)
