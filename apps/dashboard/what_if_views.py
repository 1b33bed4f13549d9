"""What-if: replay a workload's history or an uploaded trace against chosen policies.

The run's page polls itself with htmx while the run is queued or running (`request.htmx`: only
the progress part is rendered) and, once it has finished, reloads once to draw the result.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from apps.dashboard import figures
from apps.dashboard.progress import run_progress
from apps.dashboard.what_if_summary import policy_rows, savings_headline
from apps.simulations import services
from apps.simulations.models import WhatIfRun
from apps.workloads.models import Workload
from policies import REFERENCES
from simulation.compare import POLICY_NAMES


class WhatIfForm(forms.Form):
    """A workload's history or an uploaded trace, and the policies to replay on it."""

    workload = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    trace = forms.FileField(
        required=False, help_text="CSV with header timestamp,value; at most 2 MB"
    )
    policies = forms.MultipleChoiceField(
        choices=[(name, name) for name in POLICY_NAMES]
        + [(name, f"{name} (reference)") for name in REFERENCES],
        widget=forms.CheckboxSelectMultiple,
    )
    baseline = forms.TypedChoiceField(
        choices=[(name, name) for name in services.BASELINES],
        required=False,
        empty_value="threshold",
        initial="threshold",
        help_text="what the headline compares ballast with; both are always replayed",
    )

    def __init__(self, *args, workloads, **kwargs):
        super().__init__(*args, **kwargs)
        self.workloads = workloads
        self.fields["workload"].choices = [("", "— upload a trace instead —")] + [
            (w.pk, f"{w.team.slug}/{w.name}") for w in workloads
        ]


@login_required
def what_if(request):
    """The form (GET) and its submission (POST): a what-if run is queued, then its page opens."""
    workloads = (
        Workload.objects.visible_to(request.user).filter(kind="online").select_related("team")
    )
    form = WhatIfForm(
        request.POST or None,
        request.FILES or None,
        workloads=workloads,
        initial={"policies": ["threshold", "ballast"], "baseline": "threshold"},
    )
    if request.method == "POST" and form.is_valid():
        workload = (
            workloads.filter(pk=form.cleaned_data["workload"]).first()
            if form.cleaned_data["workload"]
            else None
        )
        try:
            run = services.start_what_if(
                by=request.user,
                workload=workload,
                upload=form.cleaned_data["trace"],
                policies=form.cleaned_data["policies"],
                baseline=form.cleaned_data["baseline"],
            )
        except services.SimulationError as exc:
            form.add_error(*_form_error(form, exc))
        else:
            return redirect("dashboard:what-if-run", run_id=run.pk)
    runs = WhatIfRun.objects.visible_to(request.user).select_related("workload__team")[:10]
    status = 400 if request.method == "POST" else 200
    return render(request, "dashboard/what_if.html", {"form": form, "runs": runs}, status=status)


def _form_error(form: WhatIfForm, exc: services.SimulationError) -> tuple[str | None, str]:
    """The field a refusal names, and its message; an upload's names the file, to choose again.

    A browser never refills a file input, so the message says which file was refused. NULs and
    other control characters a binary file's bytes put in the message are shown escaped.
    """
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in exc.message)
    if exc.field == "trace" and form.cleaned_data.get("trace"):
        message = f"{message} (file {form.cleaned_data['trace'].name}: choose it again once fixed)"
    if exc.field == "source":
        return None, f"workload or trace: {message}"
    return (exc.field if exc.field in form.fields else None), message


@login_required
def what_if_run(request, run_id: int):
    """One run: its progress while it runs (the part htmx polls), then the policies compared."""
    run = get_object_or_404(
        WhatIfRun.objects.visible_to(request.user).select_related("workload__team"), pk=run_id
    )
    progress = run_progress(
        status=run.status, started_at=run.started_at, now=timezone.now(), percent=run.progress
    )
    if request.htmx:
        if progress.final:  # the page reloads once, to draw the result and its figures
            return HttpResponse(headers={"HX-Refresh": "true"})
        context = {"run": run, "progress": progress}
        return render(request, "dashboard/_what_if_progress.html", context)
    context = {"run": run, "progress": progress}
    if run.status == "succeeded" and run.result:
        policies = run.result["policies"]
        context.update(
            headline=savings_headline(policies, run.baseline),
            rows=policy_rows(policies),
            with_oracle="oracle" in policies,
            cost_figure=figures.policy_cost_figure(policies),
            sla_figure=figures.policy_sla_figure(policies),
        )
    return render(request, "dashboard/what_if_run.html", context)


@login_required
def what_if_progress(request, run_id: int):
    """The run's status and progress (0-100) as JSON, for scripts; the page polls its own part."""
    run = get_object_or_404(WhatIfRun.objects.visible_to(request.user), pk=run_id)
    return JsonResponse({"status": run.status, "progress": run.progress, "message": run.message})
