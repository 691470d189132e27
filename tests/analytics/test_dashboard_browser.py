"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright).

Chromium comes from the system's packages (bin/test-deps installs it); Playwright only drives it
(``executable_path``), it never downloads a browser.
"""
import os
import shutil

import pytest
from django.core.management import call_command

from tests.factories import StaffFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = os.environ.get("LOCKLINE_DASHBOARD_SCREENSHOT", "/tmp/lockline-dashboard.png")


@pytest.fixture
def seeded(db):
    # All database work happens before the browser starts: Playwright's sync API runs an event
    # loop in this thread, and Django refuses ORM calls from a thread with a running loop.
    call_command("seed_history", stdout=open(os.devnull, "w"))
    StaffFactory(username="analyst", password="analyst-pw-for-tests")


def browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def test_the_dashboard_loads_for_staff_with_its_charts_drawn(live_server, seeded):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = browser(playwright)
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{live_server.url}/admin/login/?next=/admin/analytics/dashboard/")
        page.fill("#id_username", "analyst")
        page.fill("#id_password", "analyst-pw-for-tests")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/analytics/dashboard/")

        assert page.title().startswith("Bounce and engagement analytics")
        charts = page.locator("svg.ll-chart")
        assert charts.count() == 5
        # Drawn, not empty: lines for each prompt version, bars for domains and reasons, and
        # every chart has a real size on the page.
        assert page.locator('svg[data-chart="line"] polyline.ll-series').count() >= 8
        assert page.locator('svg[data-chart="bar"] rect.ll-bar').count() >= 8
        for index in range(charts.count()):
            box = charts.nth(index).bounding_box()
            assert box["width"] > 300 and box["height"] > 80
        assert page.locator("text=No data in this period").count() == 0
        assert page.locator('[data-table="versions"] tbody tr').count() == 4
        assert int(page.locator('[data-kpi="sends"]').inner_text()) > 500
        page.screenshot(path=SCREENSHOT, full_page=True)
        chromium.close()


def test_an_anonymous_visitor_is_sent_to_the_login_page(live_server, db):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = browser(playwright)
        page = chromium.new_page()
        page.goto(f"{live_server.url}/admin/analytics/dashboard/")
        assert "/admin/login/" in page.url and "next=/admin/analytics/dashboard/" in page.url
        assert page.locator("#id_username").is_visible()
        assert page.locator("svg.ll-chart").count() == 0
        chromium.close()
