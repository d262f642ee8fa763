"""The navigation bar: what each capability opens, by URL name.

alignment imports no app, so entries name URLs; an entry whose URL does not
exist (yet) is left out rather than break every page.
"""

from django.urls import NoReverseMatch, reverse

from alignment.roles import perm

# (label, url name, capability that may see it; None = every signed-in person)
NAV_ITEMS: list[tuple[str, str, str | None]] = [
    ("Home", "home", None),
    ("Inbox", "leads:inbox", "work_leads"),
    ("Team leads", "leads:team_inbox", "manage_team"),
    # A sales team's queue and the routing rules: its managers (and admins).
    ("Queue", "leads:queue", "sign_for_sales"),
    ("Routing", "leads:routing", "sign_for_sales"),
    ("Leads", "leads:list", None),
    ("Came back", "leads:came_back", "dispute_rejections"),
    ("Import", "leads:import", "import_leads"),
    ("Glossary", "glossary:index", None),
    ("Agreements", "sla:agreements", None),
    ("Calendars", "sla:calendars", None),
    ("Campaigns", "sla:campaign_calendar", None),
    ("Arbiter queue", "sla:arbiter_queue", "arbitrate"),
    ("Dashboards", "sla:dashboard", "view_dashboards"),
    ("Team", "team", "manage_team"),
    ("Audit", "audit", "manage_organisation"),
    ("Webhooks", "webhooks", "manage_organisation"),
    ("API tokens", "tokens", None),
    ("Admin", "admin:index", "manage_organisation"),
]


def items_for(user, current_path: str) -> list[dict]:
    items = []
    for label, name, capability in NAV_ITEMS:
        if capability and not user.has_perm(perm(capability)):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": False})
    # The longest URL that the current path starts with is the active one, so
    # /leads/inbox/ marks "Inbox", not "Leads" too.
    matches = [
        i
        for i in items
        if current_path == i["url"] or (i["url"] != "/" and current_path.startswith(i["url"]))
    ]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    return items
