"""Issue 7 point 5: the whole staff flow in real headless Chromium, driven by Playwright.

A dispatcher (agent) watches the queue; a gateway raises a ticket through the real API and
it appears without a reload; the agent books the visit; the engineer, on a phone-width
screen, departs, repairs and completes; the agent records the follow-up; the manager's KPI
page changes. Screenshots of every page go to ``docs/screenshots/`` (README shows them).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.cloud_api.pages.conftest import START, Cloud, send_event, serve_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM: Final = "/usr/bin/chromium"
SHOTS: Final = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
_ARGS: Final = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESK: Final = {"width": 1366, "height": 900}
PHONE: Final = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which(CHROMIUM), "Debian chromium is required (.ci/run installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        yield b
        b.close()


def sign_in(browser: Browser, cloud: Cloud, username: str, **context: object) -> Page:
    ctx: BrowserContext = browser.new_context(base_url=cloud.base, locale="en-US", **context)  # type: ignore[arg-type]
    page = ctx.new_page()
    page.goto("/staff/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', cloud.passwords[username])
    page.click('button[type="submit"]')
    page.wait_for_load_state("networkidle")
    return page


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Save a screenshot as a 256-colour PNG (flat UI colours survive; the repo stays small)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    raw = page.screenshot(full_page=full_page)
    with Image.open(io.BytesIO(raw)) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        small.save(SHOTS / f"{name}.png", optimize=True)


def kpi(page: Page, name: str) -> tuple[str, str]:
    tile = page.locator(f'[data-kpi="{name}"]')
    return (
        tile.locator('[data-testid="kpi-numerator"]').inner_text(),
        tile.locator('[data-testid="kpi-denominator"]').inner_text(),
    )


def click_action(page: Page, event: str) -> None:
    page.click(f'button[data-action="{event}"]')
    page.wait_for_load_state("networkidle")
    expect(page.locator(".flash.error")).to_have_count(0)


# Earlier weeks of service, so the KPI trends and the settlement have a history:
# (days before today, device, fault, minutes to the booking, satisfaction).
HISTORY: Final = (
    (20, 4, "WP_PREFILTER_CLOG", 20, 5),
    (17, 5, "WH_SCALE_BUILDUP", 35, 5),
    (13, 6, "RV_BATTERY_AGING", 95, 4),
    (11, 0, "AC_FAN_BEARING_WEAR", 25, 5),
    (6, 2, "FR_DEFROST_FAILURE", 40, 3),
    (4, 1, "AC_FILTER_CLOGGED", 15, 5),
)


@pytest.fixture
def clock_start() -> datetime:
    """Three weeks before today: the history is served first, then the day's flow."""
    return START - timedelta(days=21)


def serve_history(cloud: Cloud) -> None:
    for days, device, fault, booked_min, score in HISTORY:
        cloud.clock.set(START - timedelta(days=days))
        tid = serve_ticket(
            cloud,
            device=device,
            fault=fault,
            booked_after=timedelta(minutes=booked_min),
            satisfaction=score,
        )
        if days > 10:  # the older ones are closed, so their settlement is eligible
            send_event(cloud.staff("agent"), tid, {"type": "closed"})
    cloud.clock.set(START)


def count(text: str) -> int:
    return int(text)


def test_dispatcher_engineer_agent_and_manager_close_the_loop(
    browser: Browser, cloud: Cloud
) -> None:
    serve_history(cloud)
    manager = sign_in(browser, cloud, "manager", viewport=DESK)
    manager.goto("/staff/kpis")
    sat_num, sat_den = kpi(manager, "satisfaction_rate")
    pro_num, pro_den = kpi(manager, "proactive_share")
    assert count(sat_den) == len(HISTORY)

    # The dispatcher's queue is open; the page is never reloaded while the ticket arrives.
    agent = sign_in(browser, cloud, "agent", viewport=DESK)
    assert agent.url.endswith("/staff/queue")
    agent.evaluate("window.__sameDocument = true")
    ticket = cloud.raise_ticket(device=0, fault="AC_FILTER_CLOGGED")
    row = agent.locator(f'tr[data-row-id="{ticket["id"]}"]')
    expect(row).to_be_visible(timeout=15_000)
    assert agent.evaluate("window.__sameDocument") is True
    expect(row.locator('[data-origin="gateway"]')).to_be_visible()
    # A busier queue for the screenshot: other kinds, severities and faults.
    for device, fault, severity in (
        (1, "AC_REFRIGERANT_LEAK", "high"),
        (2, "FR_DOOR_GASKET_LEAK", "medium"),
        (3, "WM_DRUM_BEARING_WEAR", "critical"),
    ):
        cloud.raise_ticket(device=device, fault=fault, severity=severity)
    expect(agent.locator("tr[data-row-id]")).to_have_count(4 + len(HISTORY), timeout=15_000)
    shot(agent, "queue")

    # Ticket detail: why the gateway raised it, then book the visit.
    row.locator("a").first.click()
    agent.wait_for_load_state("networkidle")
    expect(agent.locator('[data-testid="evidence-chart"] svg')).to_be_visible()
    shot(agent, "ticket-detail", full_page=True)
    click_action(agent, "appointment_booked")
    expect(agent.locator('h1 [data-state="scheduled"]')).to_be_visible()

    # The engineer's phone: today's job, depart, start, complete.
    engineer = sign_in(browser, cloud, "engineer", viewport=PHONE, is_mobile=True, has_touch=True)
    assert engineer.url.endswith("/staff/today")
    job = engineer.locator(f'[data-testid="job"][data-row-id="{ticket["id"]}"]')
    expect(job).to_be_visible()
    shot(engineer, "engineer-today-phone", full_page=True)
    for event in ("engineer_departed", "repair_started", "completed"):
        job = engineer.locator(f'[data-testid="job"][data-row-id="{ticket["id"]}"]')
        if event == "completed":
            job.locator(f'button[data-action="{event}"]').click()
            engineer.wait_for_load_state("networkidle")
        else:
            job.locator(f'button[data-action="{event}"]').click()
            engineer.wait_for_load_state("networkidle")
        expect(engineer.locator(".flash.error")).to_have_count(0)
    expect(engineer.locator(f'[data-testid="job"][data-row-id="{ticket["id"]}"]')).to_have_count(0)

    # The agent's follow-up call (回访).
    agent.goto(f"/staff/tickets/{ticket['id']}")
    expect(agent.locator('h1 [data-state="completed"]')).to_be_visible()
    agent.fill('form:has(button[data-action="follow_up"]) input[name="satisfaction"]', "5")
    agent.fill(
        'form:has(button[data-action="follow_up"]) input[name="comment"]',
        "quick visit, filter replaced",
    )
    click_action(agent, "follow_up")
    expect(agent.locator('h1 [data-state="followed_up"]')).to_be_visible()

    # The manager's KPI page moved.
    manager.reload()
    assert kpi(manager, "satisfaction_rate") == (str(count(sat_num) + 1), str(count(sat_den) + 1))
    # Four gateway tickets today, none preceded by a customer call.
    assert kpi(manager, "proactive_share") == (str(count(pro_num) + 4), str(count(pro_den) + 4))
    shot(manager, "kpis", full_page=True)

    manager.goto("/staff/quality")
    expect(manager.locator('[data-testid="quality-rows"]')).to_contain_text("KFR-35GW")
    shot(manager, "quality", full_page=True)
    manager.goto("/staff/settlement")
    expect(manager.locator('[data-testid="settlement-lines"]')).to_contain_text(ticket["id"])
    shot(manager, "settlement")

    # Bilingual: the same queue in Chinese.
    agent.goto("/staff/queue")
    agent.click('[data-testid="lang-switch"]')
    agent.wait_for_load_state("networkidle")
    expect(agent.locator("h1")).to_contain_text("工单队列")
    expect(agent.locator(f'tr[data-row-id="{ticket["id"]}"] [data-state]')).to_have_text("已回访")
    shot(agent, "queue-zh")
