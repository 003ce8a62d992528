"""The creators' page, driven in a real headless Chromium (Debian's) on a phone and a desktop
screen, in English and Chinese, against a model of 50,000 videos (``served_rich``: its drafts
are answered by the draft's own features, which the page explains and advises on).
Screenshots go to tests/artifacts/ for review."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Locator, Page, Request, expect, sync_playwright

from likecast.settings import Settings
from tests.helpers import Served

pytestmark = [pytest.mark.browser, pytest.mark.server]  # Chromium, `likecast serve`

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
ARTIFACTS = Path(__file__).parents[2] / "artifacts"
# Each language's browser: its locale drives navigator.languages, its zone the page's default.
AUDIENCE_ZONE = Settings().timezone  # the served model's clock: its default
BROWSERS = {
    "en": {"locale": "en-US", "timezone_id": "America/New_York", "tag": "en"},
    "zh": {"locale": "zh-CN", "timezone_id": "Asia/Shanghai", "tag": "zh-CN"},
}
SCREENS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
CASES = [(screen, language) for screen in SCREENS for language in BROWSERS]
# flows beyond the list (draft, early, bad input, unknown creator, round trip,
# accessibility) run at two pairs, each screen once and each language once: the suite's time
TWO_CASES = pytest.mark.parametrize(
    "page", [("phone", "en"), ("desktop", "zh")], indirect=True, ids=["phone-en", "desktop-zh"]
)
CHINESE = re.compile(r"[\u4e00-\u9fff]")
SMALLEST_LABEL_PX = 11
MINUS = "\u2212"  # the page writes a minus sign, not a hyphen


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(params=CASES, ids=[f"{s}-{lang}" for s, lang in CASES])
def page(request: pytest.FixtureRequest, browser: Browser, served_rich: Served) -> Iterator[Page]:
    """The page freshly opened in a browser of that screen and language."""
    screen, language = request.param
    context = browser.new_context(
        viewport=SCREENS[screen],
        locale=BROWSERS[language]["locale"],
        timezone_id=BROWSERS[language]["timezone_id"],
        reduced_motion="reduce",  # the page scrolls at once then: no waiting for an animation
    )
    opened = context.new_page()
    outside: list[str] = []
    home = served_rich.url
    opened.on("request", lambda r: None if r.url.startswith(home) else outside.append(r.url))
    opened.goto(f"{home}/ui")
    expect(opened.locator("#category option[value='food']")).to_have_count(1)
    yield opened
    context.close()
    assert outside == [], "the page must load nothing from outside the service"


def language_of(page: Page) -> str:
    return "zh" if page.evaluate("document.documentElement.lang") == "zh-CN" else "en"


def in_language(text: str, language: str) -> bool:
    """Chinese text has Chinese characters; English none."""
    return bool(CHINESE.search(text)) == (language == "zh")


def expect_language(locator: Locator, language: str) -> None:
    """The element's text turns out in the language (waiting for the page to redraw)."""
    if language == "zh":
        expect(locator).to_have_text(CHINESE)
    else:
        expect(locator).not_to_have_text(CHINESE)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(ARTIFACTS / f"{name}-{language_of(page)}-{width}.png"), full_page=True)


def submit(page: Page, route: str) -> tuple[dict, dict, Request]:
    """Press Predict; the body the page sent to ``route``, the answer, and the request."""
    with page.expect_response(f"**{route}") as caught:
        page.click("#submit")
    response = caught.value
    assert response.ok, response.text()
    expect(page.locator("#result")).to_be_visible()  # drawn, the what-if's reply too
    return json.loads(response.request.post_data or "{}"), response.json(), response.request


def draft(page: Page, creator: str = "c000003") -> None:
    page.fill("#creator_id", creator)
    page.select_option("#category", "food")
    page.fill("#duration_s", "35")
    page.fill("#caption", "grandma's spicy noodles")


def expect_audience(page: Page, audience: dict, zone: str, language: str) -> None:
    """The like timing drawn as the what-if sent it: its sentence and 24 unmarked bars."""
    expect(page.locator("#audience-text")).to_have_text(audience["text"])
    assert in_language(audience["text"], language)
    assert audience["known"], "the simulator's snapshots are close enough to time likes"
    expect(page.locator("#audience-chart rect")).to_have_count(24)
    expect(page.locator("#audience-chart rect.best")).to_have_count(0)
    expect(page.locator("#audience-chart")).to_contain_text(zone)


def test_a_draft_answer_shows_the_number_in_context_and_when_to_post(page: Page) -> None:
    language = language_of(page)
    # given a draft of a creator with a history, the time zone the browser's
    zone = BROWSERS[language]["timezone_id"]
    expect(page.locator("#timezone")).to_have_value(zone)
    draft(page)
    # when the creator asks, the what-if's reply caught too
    with page.expect_response("**/whatif") as whatif_reply:
        sent, answer, request = submit(page, "/predict_draft")
    whatif = whatif_reply.value.json()
    # then the request asked for the page's language, with the hours in the browser's zone
    assert request.headers["accept-language"] == BROWSERS[language]["tag"]
    assert sent["timezone"] == zone
    assert "video_id" not in sent  # a draft has no id yet
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00", sent["posted_at"])
    # and the number is shown with its interval and how reliable it is, in that language
    expect(page.locator("#probability")).to_have_text(f"{answer['probability'] * 100:.1f}%")
    for line in ("#interval", "#chance-of"):
        assert in_language(page.inner_text(line), language)
    expect(page.locator("#reliability")).to_have_text(answer["reliability"]["text"])
    # beside it the category's and the creator's own typical shares
    expect(page.locator("#context-category")).to_have_text(answer["context"]["category"]["text"])
    expect(page.locator("#context-creator")).to_have_text(answer["context"]["creator"]["text"])
    # and the API's own sentences in the page's language too
    said = [answer["reliability"]["text"], *(f["text"] for f in answer["factors"])]
    said += [answer["context"][part]["text"] for part in ("category", "creator")]
    assert [text for text in said if not in_language(text, language)] == []
    # the factors in the API's order (biggest first), each with its signed size in points
    shown = page.locator("#factors li")
    expect(shown).to_have_count(len(answer["factors"]))
    assert answer["factors"], "the draft's own features carry weight in this model"
    for i, factor in enumerate(answer["factors"]):
        expect(shown.nth(i)).to_contain_text(factor["text"])
        size = shown.nth(i).locator("strong").inner_text()
        # (to one decimal as JavaScript rounds it: a half may round either way from Python's)
        found = re.match(rf"([+{MINUS}])(\d+\.\d) ", size)
        assert found, size
        sign = "+" if factor["points"] >= 0 else MINUS
        assert found[1] == sign, (size, factor["points"])
        assert abs(float(found[2]) - abs(factor["points"])) <= 0.05 + 1e-9, (size, factor)
    # and two charts: an hour per bar in the creator's zone, each with its value written out
    hours = page.locator("#hour-chart rect")
    expect(hours).to_have_count(24)
    labels = page.locator("#hour-chart text.label").all_text_contents()
    assert labels == [f"{hour['local_hour']:02d}" for hour in whatif["hours"]]
    expect(page.locator("#hour-chart text.value")).to_have_count(24)
    expect(page.locator("#length-chart rect")).to_have_count(len(whatif["durations"]))
    expect(page.locator("#hour-chart text.axis")).to_have_count(2)
    expect(page.locator("#length-chart text.axis")).to_have_count(2)
    expect(page.locator("#hour-chart")).to_contain_text(zone)
    # the advice as the API said it, the recommended bar marked when there is one
    expect(page.locator("#hour-advice")).to_have_text(whatif["advice"][0])
    expect(page.locator("#length-advice")).to_have_text(whatif["advice"][1])
    assert [text for text in whatif["advice"] if not in_language(text, language)] == []
    best = 1 if whatif["best_hour"] else 0
    expect(page.locator("#hour-chart rect.best")).to_have_count(best)
    # beside the hours, when the audience likes on the same clock, a fact apart from the advice
    expect_audience(page, whatif["audience"], zone, language)
    # every chart label readable on the screen it is drawn on (its size times the drawing's
    # scale, which a rotated axis title carries in two of its matrix's terms)
    smallest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('.chart text')].map((text) => {
             const m = text.getScreenCTM();
             return parseFloat(getComputedStyle(text).fontSize) * Math.hypot(m.a, m.b);
           }))"""
    )
    assert smallest >= SMALLEST_LABEL_PX
    # no jargon of the history's source
    assert not re.search(r"cold_start|history: store", page.inner_text("#result"))
    # and on a phone the answer is brought into view
    expect(page.locator("#result")).to_be_in_viewport()
    screenshot(page, "draft")


def test_an_early_answer_shows_its_growth_and_no_posting_advice(page: Page) -> None:
    language = language_of(page)
    # given a posted video's id, its counts now and one earlier like count
    draft(page)
    page.click("summary")
    expect_language(page.locator("label[for=video_id]"), language)
    fields = (("video_id", " v-42 "), ("age_minutes", "180"), ("views", "2400"), ("likes", "90"))
    for field, value in fields:
        page.fill(f"#{field}", value)
    page.fill("#earlier-0-age_minutes", "60")
    page.fill("#earlier-0-likes", "20")
    # when the creator asks
    sent, answer, _ = submit(page, "/predict_early")
    # then the earlier count went along, and the posting time is now minus its age
    assert sent["earlier"] == [{"age_minutes": 60, "likes": 20}]
    assert sent["video_id"] == "v-42"  # its id, for the log to join its outcome later
    assert "posted_at" not in sent
    expect(page.locator("#result")).to_be_visible()
    # the answer is brought into view, even from the bottom of the long early form
    expect(page.locator("#probability")).to_be_in_viewport()
    # the growth it saw is said, in the page's language
    expect(page.locator("#growth")).to_have_text(answer["growth"]["text"])
    assert in_language(answer["growth"]["text"], language)
    # and when to post is not asked for a video already posted
    expect(page.locator("#whatif")).to_be_hidden()
    screenshot(page, "early")


def expect_compared(page: Page, compared: dict, age: int, points: int, language: str) -> None:
    """The comparison drawn as the answer gave it: sentence, signals, bands, points, axes."""
    # then the sentence places the likes among videos like it, in the page's language
    assert compared is not None
    assert compared["age_minutes"] == age
    expect(page.locator("#curve-text")).to_have_text(compared["text"])
    assert in_language(compared["text"], language)
    assert f"{compared['percentile']:.0%}" in compared["text"]
    # with its completion and comments per view placed among the same videos
    assert [s["key"] for s in compared["signals"]] == ["completion_rate", "comments_per_view"]
    signals = page.locator("#curve-signals li")
    expect(signals).to_have_text([s["text"] for s in compared["signals"]])
    # and the chart draws the band of those that reached and of those that did not,
    # the video's own points (each count given) and both axes' titles
    chart = page.locator("#curve-chart")
    expect(chart.locator("polygon.band.reached")).to_have_count(1)
    expect(chart.locator("polygon.band.missed")).to_have_count(1)
    expect(chart.locator("circle.yours")).to_have_count(points)
    axes = chart.locator("text.axis").all_text_contents()
    assert len(axes) == 2
    assert all(in_language(title, language) for title in axes)
    expect(chart).to_have_attribute("aria-label", re.compile(re.escape(compared["text"])))
    expect(page.locator("#curve-reached")).to_contain_text("1,000")


# one video's three looks: (minutes since posting, likes now, views now)
LOOKS = [(60, 30, 900), (180, 90, 2400), (360, 200, 5200)]


def test_one_video_over_three_looks_is_drawn_against_videos_like_it(page: Page) -> None:
    language = language_of(page)
    draft(page)
    page.fill("#creator_followers", "1200")
    page.click("summary")
    page.fill("#video_id", "v-growth")
    chances: list[float] = []
    for look, (age, likes, views) in enumerate(LOOKS):
        # given the video's counts now and the ones the creator read at the earlier looks
        page.fill("#age_minutes", str(age))
        page.fill("#likes", str(likes))
        page.fill("#views", str(views))
        page.fill("#comments", str(views // 100))
        page.fill("#completion_rate", "0.31")
        before = list(reversed(LOOKS[:look]))[:2]  # the form holds the latest two
        for i, (then, liked, _) in enumerate(before):
            page.fill(f"#earlier-{i}-age_minutes", str(then))
            page.fill(f"#earlier-{i}-likes", str(liked))
        # when the creator asks
        _, answer, _ = submit(page, "/predict_early")
        expect_compared(page, answer["compared"], age, len(before) + 1, language)
        # and the chance at each look so far is a point on the line over age
        chances.append(answer["probability"])
        expect(page.locator("#looks-chart circle.yours")).to_have_count(look + 1)
    # the latest point is drawn later and higher than the first (30 -> 200 likes)
    circles = page.locator("#curve-chart circle.yours")
    first, last = circles.nth(0).bounding_box(), circles.nth(circles.count() - 1).bounding_box()
    assert first is not None
    assert last is not None
    assert last["x"] > first["x"]
    assert last["y"] < first["y"]
    # the chance's move is said from the first look to the last, drawn with its interval
    moved = page.locator("#looks-text")
    expect(moved).to_contain_text(f"{chances[0] * 100:.1f}%")
    expect(moved).to_contain_text(f"{chances[-1] * 100:.1f}%")
    assert in_language(moved.inner_text(), language)
    expect(page.locator("#looks-chart polygon.band")).to_have_count(1)
    expect(page.locator("#looks-chart text.axis")).to_have_count(2)
    screenshot(page, "compared")
    # and the new chart and sentences keep the page free of serious accessibility violations
    serious = [
        v["id"]
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    # and the button forgets the video's looks, in the page and in the browser's storage
    page.click("#forget")
    expect(page.locator("#looks-box")).to_be_hidden()
    assert page.evaluate("JSON.parse(localStorage.getItem('likecast.looks'))") == {}


@TWO_CASES
def test_counts_past_the_threshold_are_shown_as_a_fact(page: Page) -> None:
    # given a posted video that already has more likes than the threshold
    draft(page)
    page.click("summary")
    page.fill("#age_minutes", "1440")
    page.fill("#views", "40000")
    page.fill("#likes", "1200")
    # when the creator asks
    submit(page, "/predict_early")
    # then the page says it is reached, at 100%, not a model's guess
    expect(page.locator("#probability")).to_have_text("100.0%")
    expect(page.locator("#facts")).to_contain_text("1,000")
    assert in_language(page.inner_text("#facts"), language_of(page))


def test_a_bad_number_is_flagged_at_its_field_and_nothing_is_sent(page: Page) -> None:
    language = language_of(page)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    for typed in ("3O", "abc", "-5", "1,5", "99999999"):
        # given an answer on screen
        draft(page)
        submit(page, "/predict_draft")
        sent.clear()
        # when the length gets something that is no length
        page.fill("#duration_s", typed)
        page.click("#submit")
        # then the field says why, in the page's language, and no request went out
        error = page.locator("#err-duration_s")
        expect(error).not_to_be_empty()
        assert in_language(error.inner_text(), language), typed
        expect(page.locator("#duration_s")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#err-creator_id")).to_be_empty()
        # and the old answer is gone, not left beside the error
        expect(page.locator("#result")).to_be_hidden()
        assert sent == [], typed


def test_an_api_refusal_is_shown_at_its_field_and_clears_the_old_answer(page: Page) -> None:
    # given an answer on screen
    draft(page)
    submit(page, "/predict_draft")
    # when the counts break a rule only the API checks (likes fell over time)
    page.click("summary")
    page.fill("#age_minutes", "120")
    page.fill("#likes", "5")
    page.fill("#earlier-0-age_minutes", "60")
    page.fill("#earlier-0-likes", "50")
    with page.expect_response("**/predict_early") as caught:
        page.click("#submit")
    # then the refusal is shown at the field it names and the stale answer goes
    assert caught.value.status == 400
    expect(page.locator("#err-likes")).not_to_be_empty()
    assert in_language(page.inner_text("#err-likes"), language_of(page))
    expect(page.locator("#likes")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#whatif")).to_be_hidden()
    screenshot(page, "refused")


def test_an_unknown_creator_is_told_so_in_a_sentence(page: Page) -> None:
    language = language_of(page)
    # given a creator likecast has never seen
    draft(page, creator="someone-new")
    # when they ask
    _, answer, _ = submit(page, "/predict_draft")
    # then a plain sentence says there is nothing of theirs to compare with
    assert answer["context"]["creator"] is None
    creator = page.locator("#context-creator")
    expect(creator).to_be_visible()
    assert in_language(creator.inner_text(), language)
    for warning in answer["warnings"]:
        expect(page.locator("#warnings")).to_contain_text(warning)
    assert "cold_start" not in page.inner_text("#result")


@TWO_CASES
@pytest.mark.parametrize(("typed", "sent"), [("", None), ("america/new_york", "America/New_York")])
def test_the_zone_sent_is_the_one_charted_and_not_sure_stays_not_sure(
    page: Page, typed: str, sent: str | None
) -> None:
    language = language_of(page)
    zone = sent or BROWSERS[language]["timezone_id"]
    # given a draft with no category chosen and the time zone left empty or typed in lower case
    draft(page)
    page.select_option("#category", "")
    page.fill("#timezone", typed)
    # when the creator asks
    body, _, _ = submit(page, "/predict_draft")
    # then the zone the hours are read in is sent, spelled as the API spells it, and charted
    assert body["timezone"] == zone
    assert "category" not in body
    expect(page.locator("#whatif")).to_contain_text(zone)
    # and a language switch keeps "not sure"
    other = "en" if language == "zh" else "zh"
    with page.expect_response("**/model"):
        page.click(f"[data-language='{other}']")
    expect(page.locator("#category")).to_have_value("")


@TWO_CASES
def test_the_language_switch_changes_every_text_and_is_remembered(page: Page) -> None:
    start = language_of(page)
    other = "en" if start == "zh" else "zh"
    # given an answer on screen in the browser's language
    draft(page)
    submit(page, "/predict_draft")
    # when the creator picks the other language
    with page.expect_response("**/predict_draft") as caught:
        page.click(f"[data-language='{other}']")
    # then the page and the answer's own texts are asked for and shown in it
    assert caught.value.request.headers["accept-language"] == BROWSERS[other]["tag"]
    expect(page.locator("html")).to_have_attribute("lang", BROWSERS[other]["tag"])
    expect(page.locator(f"[data-language='{other}']")).to_have_attribute("aria-pressed", "true")
    for part in ("#question", "#chance-of", "#interval", "label[for='duration_s']"):
        expect_language(page.locator(part), other)
    expect_language(page.locator("#category option[value='food']"), other)
    # and a visit later it is still the chosen one
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", BROWSERS[other]["tag"])


def test_a_creator_acting_on_the_advice_gets_a_better_answer(page: Page) -> None:
    # given a two-minute draft to be posted tomorrow at 17:00 on the audience's clock (the
    # model's zone), before the evening peak, in the browser's own zone (the page's default,
    # the next hour, made the advice depend on when the test ran), and the what-if's advice
    audience = ZoneInfo(AUDIENCE_ZONE)
    tomorrow = datetime.now(audience).date() + timedelta(days=1)
    posted = datetime.combine(tomorrow, time(17), audience)
    local = posted.astimezone(ZoneInfo(BROWSERS[language_of(page)]["timezone_id"]))
    draft(page)
    page.fill("#duration_s", "120")
    page.fill("#posted_at", local.strftime("%Y-%m-%dT%H:%M"))
    with page.expect_response("**/whatif") as whatif_reply:
        _, before, _ = submit(page, "/predict_draft")
    whatif = whatif_reply.value.json()
    advised = whatif["best_hour"] or whatif["best_duration"]
    assert advised, f"the served model gave no advice: {whatif['advice']}"
    # when the creator changes the draft as advised
    if whatif["best_hour"]:
        page.fill("#posted_at", whatif["best_hour"]["posted_at"][:16])
    if whatif["best_duration"]:
        page.fill("#duration_s", f"{whatif['best_duration']['duration_s']:g}")
    _, after, _ = submit(page, "/predict_draft")
    # then the answer is better than before
    assert after["probability"] > before["probability"]
    screenshot(page, "advised")


def test_no_serious_accessibility_violations(page: Page) -> None:
    # given the page with an answer and the early fields open
    draft(page)
    submit(page, "/predict_draft")
    page.click("summary")
    # when axe-core checks it
    results = Axe().run(page)
    # then nothing serious or critical is found
    serious = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
