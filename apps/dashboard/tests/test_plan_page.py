"""The plan page for SREs: messages, approvers, apply targets, the plan in force, polling.

A message after every action, who could approve, what an apply touches, the plan in force,
what a plan changes, and the parts that keep up by polling.
"""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from apps.dashboard import plan_views as plan_view
from apps.plans import applying, review, services
from apps.plans.models import AuditEvent, PlanStatus, ScalingPlan

HTMX = {"HTTP_HX_REQUEST": "true"}


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def copy_of(plan: ScalingPlan, **fields) -> ScalingPlan:
    """Another plan of the same workload with the same front."""
    plan = ScalingPlan.objects.get(pk=plan.pk)
    plan.pk = None
    for name, value in fields.items():
        setattr(plan, name, value)
    plan.save()
    return plan


def applied(plan: ScalingPlan, at) -> None:
    ScalingPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPLIED, applied_at=at)


@pytest.fixture
def sre_c(make_user, team_a):
    return make_user("sre-c", role="sre", team=team_a)


def test_choosing_and_approving_each_say_what_happened(proposed, sre_a, sre_c, page_as):
    chosen = page_as("sre-c").post(
        f"/plans/{proposed.pk}/choose/", {"candidate": "1", "comment": "cheaper at night"}
    )
    assert said(chosen) == [
        f"Candidate 1 chosen for plan {proposed.pk} "
        f"(${ScalingPlan.objects.get(pk=proposed.pk).expected_cost_per_day_usd:.2f}/day): "
        "another SRE of the team approves it."
    ]
    approved = page_as("sre-a").post(f"/plans/{proposed.pk}/approve/", {"comment": "ok"})
    assert said(approved) == [
        f"Plan {proposed.pk} approved: anyone with the sre role in the team may apply it."
    ]
    assert ScalingPlan.objects.get(pk=proposed.pk).status == PlanStatus.APPROVED


def test_an_sre_chooses_in_the_candidate_table_and_a_viewer_only_reads_it(
    proposed, sre_a, viewer_a, page_as
):
    page = page_as("sre-a").get(f"/plans/{proposed.pk}/").content.decode()
    assert 'id="choose-form"' in page and 'id="candidate-0"' in page
    assert 'id="choose-reason"' in page and 'nonce="' in page
    viewer = page_as("viewer-a").get(f"/plans/{proposed.pk}/").content.decode()
    assert 'id="candidate-table"' in viewer and 'id="choose-form"' not in viewer
    assert 'id="decide-form"' not in viewer


def test_rejecting_says_so(proposed, sre_a, page_as):
    response = page_as("sre-a").post(f"/plans/{proposed.pk}/reject/", {"comment": "not now"})
    assert said(response) == [f"Plan {proposed.pk} rejected: it will not be applied."]


def test_a_request_says_the_page_follows_the_plan(online_workload, sre_a, page_as):
    response = page_as("sre-a").post(f"/workloads/{online_workload.pk}/plans/request/")
    plan = ScalingPlan.objects.get()
    assert said(response) == [
        f"Plan {plan.pk} requested: it is built in the background, and this page follows it."
    ]


def test_the_requester_withdraws_their_plan_in_the_page(proposed, sre_user, page_as):
    ScalingPlan.objects.filter(pk=proposed.pk).update(requested_by=sre_user)
    client = page_as("sre-a")
    assert 'id="withdraw-form"' in client.get(f"/plans/{proposed.pk}/").content.decode()
    response = client.post(f"/plans/{proposed.pk}/withdraw/", {"comment": "wrong window"})
    assert said(response) == [f"Plan {proposed.pk} withdrawn: it will not be applied."]
    plan = ScalingPlan.objects.get(pk=proposed.pk)
    assert plan.status == PlanStatus.REJECTED and plan.decision_comment == "wrong window"


def test_only_the_requester_withdraws(proposed, sre_a, page_as):
    client = page_as("sre-a")  # the plan is ci-a's
    assert 'id="withdraw-form"' not in client.get(f"/plans/{proposed.pk}/").content.decode()
    response = client.post(f"/plans/{proposed.pk}/withdraw/")
    assert said(response) == [
        "only whoever requested a plan withdraws it; an SRE of the team may reject it"
    ]
    assert ScalingPlan.objects.get(pk=proposed.pk).status == PlanStatus.PROPOSED


def test_with_one_sre_who_requested_the_page_says_nobody_can_approve_and_how_to_add_one(
    proposed, sre_user, page_as
):
    ScalingPlan.objects.filter(pk=proposed.pk).update(requested_by=sre_user)
    sre_user.is_staff = True  # an operator too: the page links the team in the admin
    sre_user.save()
    page = page_as("sre-a").get(f"/plans/{proposed.pk}/").content.decode()
    assert "Nobody can approve this plan yet." in page
    assert f'href="/admin/accounts/team/{proposed.workload.team_id}/change/"' in page
    assert "The team's SREs: sre-a." in page
    assert "gives a person the sre role in team team-a in the admin" in page
    assert "--scope plans:approve" in page
    assert 'id="decide-form"' not in page


def test_the_page_names_who_could_approve(proposed, sre_a, sre_c, page_as):
    page = page_as("sre-a").get(f"/plans/{proposed.pk}/").content.decode()
    assert "Who can approve: sre-a, sre-c" in page


def test_apply_lists_its_targets_and_needs_the_confirmation(proposed, sre_a, page_as):
    client = page_as("sre-a")
    client.post(f"/plans/{proposed.pk}/approve/")
    page = client.get(f"/plans/{proposed.pk}/").content.decode()
    assert 'id="apply-confirm"' in page and "<code>k8s_deployment:prod/ranker</code>" in page
    assert "<strong>dry run</strong>" in page and "nothing changed in Kubernetes" in page
    unconfirmed = client.post(f"/plans/{proposed.pk}/apply/")
    assert said(unconfirmed) == [
        "apply: confirm it under Apply, after reading the targets it touches"
    ]
    assert ScalingPlan.objects.get(pk=proposed.pk).status == PlanStatus.APPROVED
    confirmed = client.post(f"/plans/{proposed.pk}/apply/", {"confirm": "yes"})
    assert said(confirmed)[-1] == (  # the refusal before it was never shown
        f"Plan {proposed.pk} is being applied to 1 target(s) (0 live, 1 dry run); "
        "this page follows it."
    )
    applying.execute_apply(proposed.pk)
    event = AuditEvent.objects.get(plan_id=proposed.pk, action="plan.applied")
    assert event.reason == (
        "1 target (0 live, 1 dry run) set: k8s_deployment:prod/ranker: "
        "dry run: recorded by Ballast, nothing changed in Kubernetes"
    )


def test_the_apply_preview_says_a_live_target_without_a_connection_will_fail(proposed, settings):
    settings.KUBE_MODE = ""
    target = proposed.workload.targets.get()
    target.dry_run = False
    target.save()
    ScalingPlan.objects.filter(pk=proposed.pk).update(
        targets=[{**proposed.targets[0], "dry_run": False}]
    )
    (preview,) = review.apply_targets(ScalingPlan.objects.get(pk=proposed.pk))
    assert preview["how"] == (
        "live, but no Kubernetes connection is configured: the apply will fail there"
    )
    target.pool = "spot"
    target.save()
    (changed,) = review.apply_targets(ScalingPlan.objects.get(pk=proposed.pk))
    assert changed["how"].startswith("removed or changed since the plan was proposed")


def test_one_applied_plan_is_in_force_and_older_ones_say_what_replaced_them(
    proposed, sre_a, page_as
):
    now = timezone.now()
    newer = copy_of(proposed)
    applied(proposed, now - timedelta(hours=2))
    applied(newer, now - timedelta(hours=1))
    listing = page_as("sre-a").get(f"/workloads/{proposed.workload_id}/plans/").content
    rows = listing.decode()
    assert rows.count("<strong>in force</strong>") == 1
    assert f'applied, replaced by <a href="/plans/{newer.pk}/">{newer.pk}</a>' in rows
    assert "valid until 2" not in rows and "hx-trigger" not in rows  # nothing left to follow
    page = page_as("sre-a").get(f"/plans/{newer.pk}/").content.decode()
    assert "applied, in force" in page and 'id="in-force"' in page
    assert "; applied " in page and "valid until 2" not in page
    older = page_as("sre-a").get(f"/plans/{proposed.pk}/").content.decode()
    assert f"applied, replaced by plan {newer.pk}" in older


def test_the_diff_is_against_nothing_before_any_apply_and_against_the_plan_in_force_after(
    proposed, sre_a, page_as
):
    page = page_as("sre-a").get(f"/plans/{proposed.pk}/").content.decode()
    assert "Against nothing: no plan of this workload was applied before" in page
    diff = review.diff_from_in_force(proposed)
    assert diff.base is None and len(diff.rows) == len(proposed.chosen.schedule)
    assert all(now == 0 for row in diff.rows for now, _ in row["cells"])
    assert "c6i.xlarge, spot" in diff.pools or "c6i.xlarge, on-demand" in diff.pools

    newer = copy_of(proposed, status=PlanStatus.PROPOSED)
    applied(proposed, timezone.now())
    diff = review.diff_from_in_force(newer)
    assert diff.base.pk == proposed.pk
    assert not any(row["changed"] for row in diff.rows)  # the same front, hour for hour
    assert all(t["change"] == 0 for t in diff.totals)
    page = page_as("sre-a").get(f"/plans/{newer.pk}/").content.decode()
    assert f'Against plan <a href="/plans/{proposed.pk}/">{proposed.pk}</a>, in force now' in page
    first = diff.rows[0]
    assert f"{first['start']:%a %H:%M}–{first['end']:%H:%M}" in page


def test_a_proposed_page_polls_and_hears_nothing_until_the_plan_changes(proposed, sre_a, page_as):
    client = page_as("sre-a")
    page = client.get(f"/plans/{proposed.pk}/").content.decode()
    assert 'hx-trigger="every 3s"' in page
    version = client.get(f"/plans/{proposed.pk}/", {"part": "live"}, **HTMX)
    assert version.status_code == 200 and 'hx-swap-oob="true"' in version.content.decode()
    live = plan_view.version_of(ScalingPlan.objects.get(pk=proposed.pk))
    unchanged = client.get(
        f"/plans/{proposed.pk}/", {"part": "live", "version": live, "drawn": "proposed"}, **HTMX
    )
    assert unchanged.status_code == 204


def test_a_plan_superseded_meanwhile_loses_its_buttons_and_stops_polling(proposed, sre_a, page_as):
    client = page_as("sre-a")
    before = plan_view.version_of(proposed)
    services.supersede_older(copy_of(proposed, status=PlanStatus.DRAFT))
    fragment = client.get(
        f"/plans/{proposed.pk}/",
        {"part": "live", "version": before, "drawn": "proposed", "choice": "0"},
        **HTMX,
    ).content.decode()
    assert ">superseded</strong>" in fragment and "superseded by plan" in fragment
    assert 'id="decide-form"' not in fragment and 'id="choose-form"' not in fragment
    assert "hx-trigger" not in fragment and 'id="plan-moved"' in fragment
    stale = client.post(f"/plans/{proposed.pk}/approve/")
    assert said(stale) == [
        f"plan {proposed.pk} was superseded (superseded by plan {proposed.pk + 1}); "
        "it cannot be approved"
    ]


def test_a_draft_page_refreshes_once_the_plan_is_built(proposed, sre_a, page_as):
    client = page_as("sre-a")
    response = client.get(f"/plans/{proposed.pk}/", {"part": "live", "drawn": "draft"}, **HTMX)
    assert response.headers["HX-Refresh"] == "true"


def test_a_draft_shows_its_progress_with_the_time_earlier_builds_took(proposed, sre_a, page_as):
    draft = copy_of(proposed, status=PlanStatus.DRAFT, front=[], chosen_index=None)
    took = (
        AuditEvent.objects.get(plan_id=proposed.pk, action="plan.proposed").at - proposed.created_at
    )
    progress = review.progress(draft, now=draft.created_at + timedelta(seconds=1))
    assert progress.typical_s == pytest.approx(took.total_seconds())
    page = page_as("sre-a").get(f"/plans/{draft.pk}/").content.decode()
    assert 'id="plan-progress"' in page and "Building the plan" in page
    assert "<progress" in page and 'hx-trigger="every 3s"' in page


def test_an_apply_shows_its_steps_against_its_targets(proposed):
    ScalingPlan.objects.filter(pk=proposed.pk).update(status=PlanStatus.APPLYING)
    progress = review.progress(ScalingPlan.objects.get(pk=proposed.pk))
    assert progress.done == 0 and progress.total == 1 and progress.typical_s is None


def test_the_plan_list_polls_while_a_plan_may_move(proposed, sre_a, page_as):
    client = page_as("sre-a")
    url = f"/workloads/{proposed.workload_id}/plans/"
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 3s"' in page and "valid until" in page
    rows = client.get(url, {"part": "rows"}, **HTMX)
    body = rows.content.decode()
    assert body.lstrip().startswith('<tbody id="plan-rows"')
    version = body.split("version=", 1)[1].split('"', 1)[0]
    assert client.get(url, {"part": "rows", "version": version}, **HTMX).status_code == 204
    ScalingPlan.objects.filter(pk=proposed.pk).update(
        status=PlanStatus.EXPIRED, updated_at=timezone.now()
    )
    moved = client.get(url, {"part": "rows", "version": version}, **HTMX).content.decode()
    assert ">expired</td>" in moved and "hx-trigger" not in moved
