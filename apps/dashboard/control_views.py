"""The live controller's part of a workload page: its state, and its decisions as they come."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from apps.control.models import Controller
from apps.control.services import recent_decisions
from apps.dashboard import figures
from apps.workloads.models import Workload

TABLE_ROWS = 10


def control_context(workload: Workload) -> dict:
    """What the workload page shows of its controller (nothing when it has none)."""
    controller = Controller.objects.filter(workload=workload).first()
    if controller is None:
        return {"controller": None}
    decisions = recent_decisions(workload)
    return {
        "controller": controller,
        "control_figure": figures.control_figure(decisions) if decisions else None,
        "control_rows": list(reversed(decisions[-TABLE_ROWS:])),
    }


@login_required
def workload_control(request, workload_id: int):
    """The same as JSON, polled by the page so that new decisions appear without a reload."""
    workload = get_object_or_404(Workload.objects.visible_to(request.user), pk=workload_id)
    context = control_context(workload)
    controller = context["controller"]
    if controller is None:
        return JsonResponse({"controller": None})
    rows = [
        {
            "step_at": f"{row['step_at']:%Y-%m-%d %H:%M}",
            "demand_rps": round(row["demand_rps"], 1),
            "pools": (", ".join(f"{k}: {v}" for k, v in row["pools"].items() if v) or "none")
            + (
                f" (wanted {row['wanted']})"
                if row["wanted"] is not None and row["wanted"] != row["replicas"]
                else ""
            ),
            "replicas": row["replicas"],
            "serverless_percent": row["serverless_percent"],
            "applied": row["applied"],
            "outcome": row["outcome"],
        }
        for row in context["control_rows"]
    ]
    return JsonResponse(
        {
            "controller": {
                "policy": controller.policy,
                "enabled": controller.enabled,
                "last_step": controller.last_step,
                "message": controller.message,
            },
            "figure": context["control_figure"],
            "rows": rows,
        }
    )
