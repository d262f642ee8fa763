"""axe-core on every page of every role, at a desk (1366×900) and on a phone (390×844).

The pages come from the permission matrix (tests/security/test_permission_matrix.py):
every URL its table lets a role GET is visited as that role, its path built from
the demo's own objects (`demo_world`), so a page added to the URL conf (which
must get a row there) is checked here without anyone listing it. Fragments that
htmx swaps into a page (no <html>) and what is not HTML (the API, CSV, JSON) are
checked as part of their pages, not alone. Then, per role, one page the matrix
refuses them (the 403 page) and a missing one (404).

One browser; one logged-in context per role. On each page, with every <details>
open so the forms folded inside are checked too: no serious or critical axe
violation and exactly one <h1>, at both sizes (the same page, resized). On each
home page: the focus ring of the first controls is visible, and the bell's
accessible name says how many notifications are unread.

axe-core is vendored under static/vendor/axe-core/ and added to the page by the
test (from our own origin, so the strict CSP allows it); no product page loads it.
"""

import io
import re
from collections.abc import Iterator
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from alignment import tokens
from alignment.demo import DEMO_PASSWORD
from leads import demo as leads_demo
from tests.browser.conftest import SETTLED
from tests.security.conftest import PEOPLE as MATRIX_PEOPLE
from tests.security.conftest import World, _webhook
from tests.security.test_permission_matrix import TABLE

# The matrix's roles but its second rep (ravi's pages are the same pages).
ROLES = [role for role in MATRIX_PEOPLE if role != "other_rep"]
DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# Not ours (Django's admin), not pages (the API: its routes are named with dashes).
NOT_PAGES = re.compile(r"^admin:|-")
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


def check_focus_rings(page, problems: list[str], who: str) -> None:
    page.locator("body").focus()
    for _ in range(8):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STYLE)
        if focus["tag"] == "BODY":
            break
        if focus["style"] == "none" or focus["width"] < 2:
            problems.append(f"{who}: no visible focus ring on {focus['tag']} {focus['text']!r}")


def demo_world() -> World:
    """The matrix's World made of the demo's own rows (and the few kinds the demo
    has none of, made through the same services the security world uses)."""
    from alignment.models import User
    from glossary import platform as message_platform
    from glossary import services as glossary_services
    from glossary.models import DefinitionVersion, MessagePlatform, Term
    from glossary.selectors import reasons_in_force
    from leads import imports
    from leads.models import Lead
    from sla import agreements
    from sla import services as sla_services
    from sla.models import Agreement, ArbiterCase, BusinessCalendar, Closure, Review

    people = {role: User.objects.get(username=name) for role, name in MATRIX_PEOPLE.items()}
    leo = people["marketer"]
    in_force = DefinitionVersion.objects.get(stage__key="mql", status="agreed")
    draft = DefinitionVersion.objects.filter(status="draft").first() or (
        glossary_services.draft_create(stage=in_force.stage, by=leo, summary="Draft")
    )
    agreement_draft = Agreement.objects.filter(status="draft").first() or (
        agreements.agreement_draft_create(by=leo, summary="Draft")
    )
    platform_draft = MessagePlatform.objects.filter(status="draft").first() or (
        message_platform.platform_draft_create(by=leo, summary="Draft")
    )
    case = ArbiterCase.objects.select_related("lead").order_by("decided_at", "pk").first()
    calendar = BusinessCalendar.objects.order_by("pk").first()
    closure = Closure.objects.filter(calendar=calendar).first() or sla_services.closure_add(
        calendar=calendar,
        by=people["admin"],
        first_day=date(2099, 12, 24),
        last_day=date(2099, 12, 26),
        reason="Winter break",
    )
    upload = SimpleUploadedFile("leads.csv", b"Email,Company\nnew@example.test,Acme\n", "text/csv")
    review = Review.objects.order_by("-held_on").first()
    return World(
        people=people,
        lead=Lead.objects.filter(owner=people["sales_rep"]).order_by("-handed_off_at").first(),
        other_lead=Lead.objects.filter(owner=people["other_rep"]).first(),
        rejected=case.lead,
        draft=draft,
        in_force=in_force,
        agreement=Agreement.objects.get(status="agreed"),
        agreement_draft=agreement_draft,
        calendar=calendar,
        closure=closure,
        case=case,
        review=review,
        review_action=review.actions.first(),
        lead_import=imports.lead_import_upload(upload=upload, by=leo),
        term=Term.objects.order_by("slug").first(),
        reason=next(r.reason for r in reasons_in_force()),
        token=tokens.token_create(user=people["sales_rep"], name="axe")[0],
        platform_draft=platform_draft,
        **_webhook(people["admin"]),
    )


def pages_of(role: str, world: World) -> Iterator[tuple[str, str]]:
    """(url name, path) of every page the matrix lets this role GET, then one it refuses."""
    refused = None
    for name, row in sorted(TABLE.items()):
        outcome = row.methods.get("GET", {}).get(role, "")
        if NOT_PAGES.search(name) or outcome not in ("ok", "deny"):
            continue
        path = reverse(name, kwargs=row.args(world))
        if outcome == "ok":
            yield name, path
        elif refused is None:
            refused = (f"{name} (refused)", path)
    if refused:
        yield refused
    yield "missing page", "/no-such-page/"


@pytest.fixture
def demo(transactional_db, monkeypatch):
    # Every page has something to show with a fifth of the demo's history.
    monkeypatch.setattr(leads_demo, "LEADS", 120)
    call_command("seed_demo", stdout=io.StringIO())
    return demo_world()


def log_in(browser, base: str, username: str):
    context = browser.new_context(viewport=DESK)
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    return context, page


def axe_problems(page, base: str, where: str) -> list[str]:
    page.add_script_tag(url=f"{base}/static/vendor/axe-core/axe.min.js")
    found = [
        f"{where}: {v['id']} ({v['impact']}) {v['help']} at {v['nodes']}"
        for v in page.evaluate(RUN_AXE)
        if v["impact"] in SERIOUS
    ]
    h1 = page.locator("h1").count()
    if h1 != 1:
        found.append(f"{where}: {h1} <h1> elements")
    return found


def test_every_page_of_every_role_passes_axe_with_one_h1_at_desk_and_phone_size(
    demo, browser, live_server
):
    import time

    started = time.monotonic()
    base = live_server.url
    problems: list[str] = []
    checked: dict[str, list[str]] = {}
    waiting: list[str] = []
    for role in ROLES:
        context, page = log_in(browser, base, MATRIX_PEOPLE[role])
        check_focus_rings(page, problems, role)
        # The demo's first scan notified the reps and managers: the count is in the name.
        bell = r"^Notifications: \d+ unread$" if role.startswith("sales") else "^Notifications"
        expect(page.get_by_role("link", name=re.compile(bell))).to_be_visible()
        checked[role] = []
        for name, path in pages_of(role, demo):
            page.set_viewport_size(DESK)
            try:
                response = page.goto(f"{base}{path}")
            except PlaywrightError as exc:
                if "Download is starting" in str(exc):
                    continue  # a file (a CSV report), not a page
                raise
            if "text/html" not in (response.headers.get("content-type") or ""):
                continue
            if "<html" not in response.text()[:500]:
                continue  # an htmx fragment: checked inside the page that loads it
            # Panels load by htmx after the page: wait until none is still loading
            # (a what-if waiting for its worker, none here, is checked as it waits).
            try:
                page.wait_for_function(SETTLED, timeout=10_000)
            except PlaywrightTimeout:
                waiting.append(f"{role} {name}")
            problems += axe_problems(page, base, f"{role} {name} {path} at 1366")
            page.set_viewport_size(PHONE)
            problems += axe_problems(page, base, f"{role} {name} {path} at 390")
            checked[role].append(name)
        context.close()

    total = sum(map(len, checked.values()))
    print(f"axe: {total} pages, twice each, in {time.monotonic() - started:.0f} s; {waiting=}")
    assert not problems, "\n".join(problems)
    # The matrix really drove it (a broken login or world would check a page or two).
    assert "leads:inbox" in checked["sales_rep"], checked
    assert {"sla:dashboard", "sla:panel", "sla:arbiter_queue"} <= set(checked["admin"])
    assert "sla:arbiter_queue" in checked["arbiter"], checked
    assert len(checked["admin"]) >= 40, len(checked["admin"])
