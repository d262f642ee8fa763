"""axe-core on every page each role of the demo can reach, in Chromium.

One person per role logs in once (one browser context each); from the home page
the test follows every link of the site it finds, visiting each page (each
route, and each set of query parameters on it) once, with every <details> open
so the forms folded inside are checked too; then the pages no link leads to (a
missing page, a refused one). On each: no serious or critical axe violation,
exactly one <h1>. On each home page: the focus ring of the first controls is
visible, and the bell's accessible name says how many notifications are unread.

axe-core is vendored under static/vendor/axe-core/ and added to the page by the
test (from our own origin, so the strict CSP allows it); no product page loads it.
"""

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve
from playwright.sync_api import expect

from alignment.demo import DEMO_PASSWORD
from leads import demo as leads_demo
from tests.browser.conftest import SETTLED

# One person per role.
PEOPLE = {
    "sales rep": "ravi",
    "sales manager": "sam",
    "marketing manager": "maya",
    "marketer": "leo",
    "arbiter": "ada",
    "admin": "admin",
}
# Not ours (Django's admin), not pages (the API, files, CSV exports), or leaving.
SKIP = re.compile(r"^/(admin|api|static|accounts/logout)/|[?&]export=")
# Pages no link leads to: a missing page for everyone, and a refused one for most.
EXTRA = ["/no-such-page/", "/sla/arbiter/", "/team/"]
SERIOUS = ("serious", "critical")

RUN_AXE = """async () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
  }));
}"""

FOCUS_STYLE = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName, text: (el.innerText || el.value || '').trim().slice(0, 40),
          style: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def page_key(path: str) -> str:
    """One visit per route and per set of query parameter names."""
    parts = urlsplit(path)
    try:
        name = resolve(parts.path).view_name
    except Resolver404:
        name = parts.path
    return name + "?" + ",".join(sorted(parse_qs(parts.query)))


def links_on(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]:not([download])", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not SKIP.search(path):
            found.append(path)
    return found


def check_focus_rings(page, problems: list[str], who: str) -> None:
    page.locator("body").focus()
    for _ in range(8):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STYLE)
        if focus["tag"] == "BODY":
            break
        if focus["style"] == "none" or focus["width"] < 2:
            problems.append(f"{who}: no visible focus ring on {focus['tag']} {focus['text']!r}")


@pytest.fixture
def demo(transactional_db, monkeypatch):
    # Every page has something to show with a fifth of the demo's history.
    monkeypatch.setattr(leads_demo, "LEADS", 120)
    call_command("seed_demo", stdout=io.StringIO())


def test_every_page_of_every_role_passes_axe_with_one_h1(demo, browser, live_server):
    base = live_server.url
    problems: list[str] = []
    visited: dict[str, int] = {}
    for role, username in PEOPLE.items():
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/")

        check_focus_rings(page, problems, role)
        # The demo's first scan notified the reps and managers: the count is in the name.
        bell = r"^Notifications: \d+ unread$" if role.startswith("sales") else "^Notifications"
        expect(page.get_by_role("link", name=re.compile(bell))).to_be_visible()

        queue, seen = ["/", *EXTRA], set()
        while queue:
            path = queue.pop(0)
            key = page_key(path)
            if key in seen:
                continue
            seen.add(key)
            response = page.goto(f"{base}{path}")
            if "text/html" not in (response.headers.get("content-type") or ""):
                continue
            # Panels load by htmx after the page: wait until none is still loading.
            page.wait_for_function(SETTLED)
            queue += [p for p in links_on(page, base) if page_key(p) not in seen]
            page.add_script_tag(url=f"{base}/static/vendor/axe-core/axe.min.js")
            for v in page.evaluate(RUN_AXE):
                if v["impact"] in SERIOUS:
                    problems.append(
                        f"{role} {path}: {v['id']} ({v['impact']}) {v['help']} at {v['nodes']}"
                    )
            h1 = page.locator("h1").count()
            if h1 != 1:
                problems.append(f"{role} {path}: {h1} <h1> elements")
        visited[role] = len(seen)
        context.close()

    assert not problems, "\n".join(problems)
    # The crawl really went round (a broken login would visit one page).
    assert visited["sales rep"] >= 10, visited
    assert visited["admin"] >= 30, visited
