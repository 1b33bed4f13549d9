"""In a real browser on a phone's width: the plan page's spot insurance line fits and reads."""

from playwright.sync_api import expect


def test_the_spot_insurance_line_fits_a_390_px_screen(proposed, signed_in, live_server, artifacts):
    page = signed_in("sre-a")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/plans/{proposed.pk}/")

    line = page.locator("#spot-insurance")
    expect(line).to_be_visible()
    expect(line).to_contain_text("Spot insurance: $")
    expect(line).to_contain_text("spread over 1 pool, largest ≤ 100 %")
    box = line.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    line.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "plan-insurance-390.png")
