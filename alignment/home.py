"""What each role does next: the cards on its home page.

Cards name URLs (alignment imports no app). A card may also name a panel URL
that the page loads with htmx, so apps add live figures without this module
importing them. A URL that does not exist yet leaves its card out.
"""

from django.urls import NoReverseMatch, reverse

from alignment.roles import Role

# role -> [(title, what to do, link url name, link text, panel url name or None)]
HOME_CARDS: dict[str, list[tuple[str, str, str, str, str | None]]] = {
    Role.SALES_REP: [
        (
            "Your inbox",
            "Accept or reject each lead handed to you within the agreed time, "
            "then log your touches.",
            "leads:inbox",
            "Open inbox",
            "leads:inbox_summary",
        ),
        (
            "What a qualified lead is",
            "The MQL, SAL and SQL definitions both sides signed.",
            "glossary:index",
            "Read the glossary",
            None,
        ),
        (
            "What we promised",
            "The service-level agreement in force: how fast sales acts.",
            "sla:agreements",
            "Read the agreement",
            None,
        ),
    ],
    Role.SALES_MANAGER: [
        (
            "Definitions to sign",
            "Lead definitions marketing proposed, waiting for sales.",
            "glossary:signatures",
            "Review and sign",
            "glossary:signatures_panel",
        ),
        (
            "Agreements to sign",
            "Service-level agreement versions waiting for sales.",
            "sla:signatures",
            "Review and sign",
            "sla:signatures_panel",
        ),
        (
            "Breaches and stale leads",
            "Who keeps the agreement and who breaks it.",
            "sla:dashboard",
            "Open dashboard",
            "sla:breaches_panel",
        ),
        (
            "Your team's leads",
            "Every open lead of your team; reassign where a rep is stuck.",
            "leads:team_inbox",
            "Open team leads",
            None,
        ),
        ("Your team", "Who is away, who can take leads.", "team", "Open team", None),
    ],
    Role.MARKETER: [
        (
            "Definitions",
            "Draft changes to what counts as an MQL and how it is scored.",
            "glossary:index",
            "Open glossary",
            None,
        ),
        ("Import leads", "Upload a CSV; history or new leads.", "leads:import", "Import", None),
        (
            "Came back",
            "Leads sales rejected, with the reason; dispute where it is wrong.",
            "leads:came_back",
            "See rejections",
            None,
        ),
    ],
    Role.MARKETING_MANAGER: [
        (
            "Definitions to sign",
            "Lead definitions to sign for marketing.",
            "glossary:signatures",
            "Review and sign",
            "glossary:signatures_panel",
        ),
        (
            "Agreements to sign",
            "Service-level agreement versions waiting for marketing.",
            "sla:signatures",
            "Review and sign",
            "sla:signatures_panel",
        ),
        (
            "This month's commitment",
            "MQLs delivered against the agreed volume and quality.",
            "sla:dashboard",
            "Open dashboard",
            "sla:commitment_panel",
        ),
        (
            "Came back",
            "Rejected leads and their reasons.",
            "leads:came_back",
            "See rejections",
            None,
        ),
    ],
    Role.ARBITER: [
        (
            "Your queue",
            "Escalated breaches and disputed rejections waiting for a decision.",
            "sla:arbiter_queue",
            "Open queue",
            "sla:arbiter_panel",
        ),
        (
            "Dashboards",
            "How both sides keep the agreement.",
            "sla:dashboard",
            "Open dashboard",
            None,
        ),
    ],
    Role.ADMIN: [
        (
            "People and teams",
            "Add people, give them a role and a team, issue API tokens.",
            "admin:index",
            "Open admin",
            None,
        ),
        (
            "Business calendars",
            "Working hours, holidays and closures the deadlines run on.",
            "sla:calendars",
            "Open calendars",
            None,
        ),
        (
            "Dashboards",
            "Breaches, funnel and handoff quality.",
            "sla:dashboard",
            "Open dashboard",
            None,
        ),
    ],
}


def _url(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def cards_for(role: str | None) -> list[dict]:
    cards = []
    for title, text, link_name, link_text, panel_name in HOME_CARDS.get(role or "", []):
        link = _url(link_name)
        if link is None:
            continue
        cards.append(
            {
                "title": title,
                "text": text,
                "url": link,
                "link_text": link_text,
                "panel_url": _url(panel_name),
            }
        )
    return cards
