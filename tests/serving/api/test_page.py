"""The creators' page, driven in a real headless Chromium (Debian's), on a phone-sized screen."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.serving.conftest import Served

pytestmark = pytest.mark.slow  # starts servers or subprocesses

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser_page(served: Served) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        requests_outside: list[str] = []
        page.on(
            "request",
            lambda r: None if r.url.startswith(served.url) else requests_outside.append(r.url),
        )
        page.goto(f"{served.url}/ui")
        yield page
        assert requests_outside == [], "the page must load nothing from outside the service"
        browser.close()


def test_a_draft_shows_probability_reasons_and_hour_chart(
    browser_page: Page, tmp_path: Path
) -> None:
    page = browser_page
    # given the form, with categories loaded from the served model
    expect(page.locator("#category option[value='food']")).to_have_count(1)
    # when a creator fills in a draft and submits it
    page.fill("#creator_id", "c000003")
    page.select_option("#category", "food")
    page.fill("#duration_s", "35")
    page.fill("#caption", "grandma's spicy noodles")
    page.click("#submit")
    # then the probability, the reasons and the 24-hour chart appear
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#probability")).to_have_text(re.compile(r"^\d+(\.\d)?%$"))
    # with how reliable a draft's number is, in words, right under it
    expect(page.locator("#reliability")).to_contain_text("Predictions before posting are")
    expect(page.locator("#reliability")).to_contain_text(
        re.compile(r"ranked a video that went on to reach 1,000 likes above one that did not \d+%")
    )
    expect(page.locator("#hour-chart rect")).to_have_count(24)
    expect(page.locator("#interval")).to_contain_text("Of 100 videos like this one, likely")
    expect(page.locator("#best-hour")).to_contain_text(re.compile("Posting (time|at)"))
    expect(page.locator("#model-version")).to_contain_text("model version")
    assert page.locator("#reasons-up li, #reasons-down li").count() >= 1
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)


def test_an_invalid_entry_shows_its_error_next_to_the_field(browser_page: Page) -> None:
    page = browser_page
    page.fill("#duration_s", "-5")
    page.click("#submit")
    expect(page.locator("#err-duration_s")).to_contain_text("greater than or equal to 0.1")
    expect(page.locator("#duration_s")).to_have_class(re.compile("invalid"))
    expect(page.locator("#err-creator_id")).to_have_text("")


def test_counts_past_the_threshold_are_shown_as_a_fact(browser_page: Page) -> None:
    page = browser_page
    # given a posted video that already has more likes than the threshold
    page.fill("#duration_s", "35")
    page.fill("#creator_id", "c000003")
    page.click("summary")
    page.fill("#age_minutes", "1440")
    page.fill("#views", "40000")
    page.fill("#likes", "1200")
    # when the creator asks
    page.click("#submit")
    # then the page says it is reached, at 100%, not a model's guess
    expect(page.locator("#probability")).to_have_text("100.0%")
    expect(page.locator("#facts")).to_contain_text("Reached")
    expect(page.locator("#reliability")).to_have_text(re.compile("^Not an estimate"))


def test_an_unknown_creator_is_told_so_in_a_sentence(browser_page: Page) -> None:
    page = browser_page
    for name in ("age_minutes", "views", "likes"):
        page.fill(f"#{name}", "")
    page.fill("#creator_id", "someone-new")
    page.click("#submit")
    expect(page.locator("#warnings")).to_contain_text("no earlier videos")
    expect(page.locator("#facts")).to_be_hidden()
