"""Pages: the home page lists what the signed-in user can see."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from apps.accounts import roles
from apps.catalog.models import Offer
from apps.workloads.models import Workload


@login_required
def home(request):
    """The user's workloads, with counts, and the size of the catalog."""
    workloads = (
        Workload.objects.visible_to(request.user)
        .select_related("team")
        .annotate(variant_count=Count("variants", distinct=True))
    )
    return render(
        request,
        "dashboard/home.html",
        {
            "workloads": workloads,
            "offer_count": Offer.objects.in_force().count(),
            "is_finops": roles.is_finops(request.user),
        },
    )
