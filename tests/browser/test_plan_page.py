"""In a real browser: the plan page's choices, decisions and apply, and a page that keeps up."""

from playwright.sync_api import expect

from apps.plans import services
from apps.plans.models import PlanStatus, ScalingPlan


def chart(page, figure_id: str):
    """Wait until plotly.js has drawn the figure's SVG inside its div."""
    svg = page.locator(f"#{figure_id}.figure .plotly svg.main-svg").first
    expect(svg).to_be_visible(timeout=15_000)
    return svg


def point_on_screen(page, index: int) -> tuple[float, float]:
    """Where plotly.js drew candidate `index` of the front, in page pixels."""
    return page.evaluate(
        """(index) => {
            const el = document.getElementById("pareto");
            const layout = el._fullLayout, trace = el.data[0], box = el.getBoundingClientRect();
            return [
                box.left + layout._size.l + layout.xaxis.l2p(trace.x[index]),
                box.top + layout._size.t + layout.yaxis.l2p(trace.y[index]),
            ];
        }""",
        index,
    )


def spread_out(plan: ScalingPlan) -> None:
    """Place each candidate apart, by the model: the fixture's replays put them all at one."""
    front = [
        {**c, "measured": None, "cost_per_day_usd": 5.0 + 0.3 * i, "sla_risk": 0.001 * (9 - i)}
        for i, c in enumerate(plan.front)
    ]
    ScalingPlan.objects.filter(pk=plan.pk).update(front=front)


def test_clicking_a_point_of_the_front_chooses_its_candidate(
    proposed, make_user, team_a, signed_in, live_server
):
    make_user("sre-c", role="sre", team=team_a)
    spread_out(proposed)
    index = 4  # the chosen one is the recommended, 2
    page = signed_in("sre-c")
    page.goto(f"{live_server.url}/plans/{proposed.pk}/")
    chart(page, "pareto")
    page.fill("#choose-reason", "the cheaper point is enough at night")
    page.mouse.click(*point_on_screen(page, index))
    expect(page.locator(".messages")).to_contain_text(f"Candidate {index} chosen")
    expect(page.locator(f"#candidate-{index}")).to_be_checked()
    assert ScalingPlan.objects.get(pk=proposed.pk).chosen_index == index


def test_a_second_person_approves_and_apply_lists_its_dry_run_targets_first(
    proposed, signed_in, live_server, artifacts
):
    page = signed_in("sre-a")  # the plan is team A's CI's: sre-a is the second person
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/plans/{proposed.pk}/")
    expect(page.locator("#approvers")).to_contain_text("Who can approve: sre-a")
    page.click("button[name=approve]")
    expect(page.locator(".messages")).to_contain_text(f"Plan {proposed.pk} approved")
    expect(page.locator("#plan-status")).to_have_text("approved")

    apply_button = page.get_by_role("button", name="Apply to 1 target")
    expect(apply_button).to_be_hidden()  # behind the confirmation
    page.click("#apply-confirm summary")
    targets = page.locator("#apply-targets li")
    expect(targets).to_have_count(1)
    expect(targets).to_contain_text("k8s_deployment:prod/ranker: dry run")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "plan-apply-confirm-390.png", full_page=True)
    apply_button.click()
    expect(page.locator(".messages")).to_contain_text("(0 live, 1 dry run)")


def test_the_requester_withdraws_their_plan(proposed, sre_user, signed_in, live_server):
    ScalingPlan.objects.filter(pk=proposed.pk).update(requested_by=sre_user)
    page = signed_in("sre-a")
    page.goto(f"{live_server.url}/plans/{proposed.pk}/")
    expect(page.locator("#approvers")).to_contain_text("Nobody can approve this plan yet")
    page.fill("#withdraw-form input[name=comment]", "wrong window")
    page.get_by_role("button", name="Withdraw my plan").click()
    expect(page.locator(".messages")).to_contain_text(f"Plan {proposed.pk} withdrawn")
    expect(page.locator("#plan-status")).to_have_text("rejected")


def test_the_page_keeps_up_when_another_session_supersedes_the_plan(
    proposed, signed_in, live_server
):
    page = signed_in("sre-a")
    page.goto(f"{live_server.url}/plans/{proposed.pk}/")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    newer = ScalingPlan.objects.get(pk=proposed.pk)
    newer.pk, newer.status = None, PlanStatus.DRAFT
    newer.save()
    services.supersede_older(newer)  # as a request from elsewhere does

    expect(page.locator("#plan-status")).to_have_text("superseded", timeout=8_000)
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("#choose-form")).to_have_count(0)
    expect(page.locator("#plan-live")).not_to_have_attribute("hx-trigger", "every 3s")
