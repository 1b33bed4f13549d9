"""In a real browser: charts render, an SRE approves a plan, FinOps sees no approve button."""

from playwright.sync_api import expect


def chart(page, figure_id: str):
    """Wait until plotly.js has drawn the figure's SVG inside its div."""
    svg = page.locator(f"#{figure_id}.figure .plotly svg.main-svg").first
    expect(svg).to_be_visible(timeout=15_000)
    return svg


def test_an_sre_sees_the_charts_and_approves_a_proposed_plan(
    proposed, signed_in, live_server, artifacts
):
    page = signed_in("sre-a")
    page.goto(f"{live_server.url}/workloads/{proposed.workload_id}/")
    chart(page, "traffic")
    chart(page, "latency")
    page.screenshot(path=artifacts / "sre-workload.png", full_page=True)

    page.goto(f"{live_server.url}/plans/{proposed.pk}/")
    expect(page.locator("#plan-status")).to_have_text("proposed")
    chart(page, "pareto")
    chart(page, "schedule")
    page.screenshot(path=artifacts / "sre-plan-proposed.png", full_page=True)
    page.fill("input[name=comment] >> nth=0", "looks right")
    page.click("button[name=approve]")
    expect(page.locator("#plan-status")).to_have_text("approved")
    page.screenshot(path=artifacts / "sre-plan-approved.png", full_page=True)


def test_finops_sees_spend_and_no_approve_button(
    proposed, finops, signed_in, live_server, artifacts
):
    page = signed_in("finops")
    page.goto(f"{live_server.url}/plans/{proposed.pk}/")
    expect(page.locator("#plan-status")).to_have_text("proposed")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    page.screenshot(path=artifacts / "finops-plan.png", full_page=True)

    page.goto(f"{live_server.url}/overview/")
    chart(page, "spend-team")
    expect(page.get_by_text("estimated from plans", exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "finops-overview.png", full_page=True)

    page.goto(f"{live_server.url}/catalog/")
    chart(page, "prices")
    page.screenshot(path=artifacts / "finops-catalog.png", full_page=True)

    page.goto(f"{live_server.url}/what-if/")
    expect(page.locator("form button[type=submit]").first).to_be_visible()
    page.screenshot(path=artifacts / "finops-what-if.png", full_page=True)


def test_api_docs_admin_and_a_lockout_render_under_the_csp(
    signed_in, csp_violations, chromium, live_server, django_user_model, artifacts
):
    django_user_model.objects.create_superuser("root", password="x-root")
    page = signed_in("root")
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible(timeout=15_000)
    page.screenshot(path=artifacts / "api-docs.png")
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("#site-name")).to_be_visible()

    context = chromium.new_context()
    stranger = csp_violations(context.new_page())
    for _ in range(5):
        stranger.goto(f"{live_server.url}/accounts/login/")
        stranger.fill("#id_username", "root")
        stranger.fill("#id_password", "wrong")
        stranger.click("button[type=submit]:has-text('Sign in')")
    expect(stranger.locator("#locked-out")).to_contain_text("locked for 15 minutes")
    stranger.screenshot(path=artifacts / "locked-out.png")
    context.close()
