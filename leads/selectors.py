"""Reads of leads that are more than a filter. All bounded and indexed."""

from __future__ import annotations

from django.db.models import F, Prefetch, Q, QuerySet, prefetch_related_objects

from alignment.models import User
from alignment.roles import perm
from leads.machine import OPEN_STAGES
from leads.models import Dispute, Lead, LeadEvent, Touch

LIST_RELATED = ("owner", "team", "campaign", "rejection_reason", "definition_version__stage")


def visible_leads(user: User) -> QuerySet[Lead]:
    """What a person may see: sales see their own team's leads (read-only beyond
    their own); marketing, the arbiter and admins see all (a merged duplicate too:
    its page leads to the lead kept)."""
    qs = Lead.objects.all()
    if user.has_perm(perm("manage_organisation")) or user.has_perm(perm("arbitrate")):
        return qs
    if user.has_perm(perm("import_leads")):
        return qs
    if user.has_perm(perm("work_leads")):
        return (
            qs.filter(Q(owner=user) | Q(team_id=user.team_id))
            if user.team_id
            else qs.filter(owner=user)
        )
    return qs.none()


# How a rep may sort the inbox: its label and the ORDER BY (the default puts
# the leads waiting for a decision first, the nearest deadline first).
INBOX_SORTS: dict[str, tuple[str, tuple]] = {
    "": (
        # "mql" sorts before "opportunity", "sal" and "sql": leads waiting for a
        # decision come first, the nearest deadline first within each stage.
        "Waiting first, then due soonest",
        ("stage", F("action_due_at").asc(nulls_last=True), "-handed_off_at", "-id"),
    ),
    "due": ("Due soonest", (F("action_due_at").asc(nulls_last=True), "-handed_off_at", "-id")),
    "score": ("Highest score", (F("score").desc(nulls_last=True), "-handed_off_at", "-id")),
    "newest": ("Newest handoff", (F("handed_off_at").desc(nulls_last=True), "-id")),
}


def inbox(user: User, *, stage: str = "", source: str = "", sort: str = "") -> QuerySet[Lead]:
    """The rep's open leads, of one stage or source if asked, in the order asked
    (unknown values are the caller's to refuse: here they mean "any")."""
    qs = Lead.objects.filter(owner=user, stage__in=OPEN_STAGES)
    if stage in OPEN_STAGES:
        qs = qs.filter(stage=stage)
    if source:
        qs = qs.filter(source=source)
    return qs.select_related(*LIST_RELATED).order_by(*INBOX_SORTS.get(sort, INBOX_SORTS[""])[1])


def inbox_sources(user: User, limit: int = 50) -> list[str]:
    """The sources of the rep's open leads, for the inbox's filter (one query, bounded).

    On PostgreSQL a loose index scan of lead_owner_sources_idx (one probe per source,
    as lead_sources): its cost is the sources', not the rep's open leads'."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return list(
            Lead.objects.filter(owner=user, stage__in=OPEN_STAGES)
            .order_by("source")
            .values_list("source", flat=True)
            .distinct()[:limit]
        )
    # The index's condition, word for word, in both probes, so that both read it.
    open_lead = "l.owner_id = %s AND l.stage IN %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE sources(source) AS (
                (SELECT l.source FROM leads_lead l WHERE {open_lead} ORDER BY l.source LIMIT 1)
                UNION ALL
                SELECT (SELECT l.source FROM leads_lead l
                        WHERE {open_lead} AND l.source > sources.source
                        ORDER BY l.source LIMIT 1)
                FROM sources WHERE sources.source IS NOT NULL
            )
            SELECT source FROM sources WHERE source IS NOT NULL LIMIT %s
            """,  # noqa: S608 - no input in the SQL text
            [user.pk, tuple(OPEN_STAGES), user.pk, tuple(OPEN_STAGES), limit],
        )
        return [row[0] for row in cursor.fetchall()]


def team_inbox(team_id: int) -> QuerySet[Lead]:
    return (
        Lead.objects.filter(team_id=team_id, stage__in=OPEN_STAGES)
        .select_related(*LIST_RELATED)
        .order_by("stage", F("action_due_at").asc(nulls_last=True), "-handed_off_at", "-id")
    )


def came_back() -> QuerySet[Lead]:
    """Leads sales rejected or returned, newest first, with any open dispute."""
    return (
        Lead.objects.filter(rejected_at__isnull=False)
        .select_related(*LIST_RELATED)
        .prefetch_related(
            Prefetch("disputes", queryset=Dispute.objects.select_related("raised_by"))
        )
        .order_by("-rejected_at", "-id")
    )


def lead_detail(lead_id: int, user: User, *, events: bool = True) -> Lead:
    """events=False: the page reads the timeline itself (timeline())."""
    lead = (
        visible_leads(user)
        .select_related(*LIST_RELATED, "account")
        .prefetch_related(
            Prefetch("touches", queryset=Touch.objects.select_related("by")),
            Prefetch(
                "disputes", queryset=Dispute.objects.select_related("raised_by", "decided_by")
            ),
        )
        .get(pk=lead_id)
    )
    if events:
        prefetch_related_objects([lead], Prefetch("events", queryset=lead_events(lead)))
    return lead


def lead_events(lead: Lead) -> QuerySet[LeadEvent]:
    """The lead's history. None of its events is older than the lead (its birth is
    the first, at created_at), and saying so lets PostgreSQL read only the months of
    lead events since then (alignment.partitions), not every month ever kept."""
    return LeadEvent.objects.filter(lead=lead, occurred_at__gte=lead.created_at).select_related(
        "actor"
    )


def timeline(lead: Lead) -> list[LeadEvent]:
    """The lead's one history: its events and those of the duplicates merged into it."""
    return list(
        LeadEvent.objects.filter(Q(lead_id=lead.pk) | Q(lead__merged_into_id=lead.pk))
        .select_related("actor")
        .order_by("occurred_at", "id")
    )


def duplicates(lead: Lead, limit: int = 5) -> list[Lead]:
    """Other live leads with the same email (any source), oldest first."""
    from leads.accounts import by_email, normal_email

    email = normal_email(lead.email)
    if not email:
        return []
    return list(by_email({email}).exclude(pk=lead.pk)[:limit])


def search(qs: QuerySet[Lead], text: str) -> QuerySet[Lead]:
    text = text[:100]
    return qs.filter(
        Q(email__icontains=text)
        | Q(company__icontains=text)
        | Q(last_name__icontains=text)
        | Q(first_name__icontains=text)
        | Q(external_id=text)
    )


def inbox_counts(user: User) -> dict[str, int]:
    from django.db.models import Count

    return Lead.objects.filter(owner=user, stage__in=OPEN_STAGES).aggregate(
        waiting=Count("pk", filter=Q(stage="mql")),
        working=Count("pk", filter=~Q(stage="mql")),
        stale=Count("pk", filter=Q(stale_since__isnull=False)),
    )


def definition_preview(version, *, sample: int = 200) -> dict:
    """Score the last `sample` leads with this version and with the one in force."""
    from glossary.scoring import compile_definition
    from glossary.selectors import definition_in_force
    from leads.validation import CONTACT_FIELDS

    leads = list(
        Lead.objects.filter(is_history=False)
        .order_by("-created_at", "-id")
        .values("id", "source", "attributes", *CONTACT_FIELDS)[:sample]
    )
    draft = compile_definition(version)
    current_version = definition_in_force(version.stage.key)
    current = compile_definition(current_version) if current_version else None
    gained = lost = both = 0
    examples = []
    for row in leads:
        fields = {name: row[name] for name in (*CONTACT_FIELDS, "source")}
        new = draft.score(fields=fields, attributes=row["attributes"])
        old = current.score(fields=fields, attributes=row["attributes"]) if current else None
        old_q = bool(old and old.qualified)
        if new.qualified and old_q:
            both += 1
        elif new.qualified:
            gained += 1
        elif old_q:
            lost += 1
        if (new.qualified != old_q) and len(examples) < 10:
            examples.append(
                {
                    "id": row["id"],
                    "email": row["email"],
                    "company": row["company"],
                    "old": old.points if old else None,
                    "new": new.points,
                    "qualified": new.qualified,
                }
            )
    return {
        "sample": len(leads),
        "current_version": current_version,
        "qualified_now": both + lost,
        "qualified_draft": both + gained,
        "gained": gained,
        "lost": lost,
        "examples": examples,
    }


def lead_sources(limit: int = 100) -> list[str]:
    """The distinct sources of live leads, in order.

    On PostgreSQL a loose index scan: one index probe per distinct source
    (a recursive query), instead of reading a million leads for a dozen names.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return list(
            Lead.objects.filter(is_history=False)
            .order_by("source")
            .values_list("source", flat=True)
            .distinct()[:limit]
        )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE sources(source) AS (
                (SELECT source FROM leads_lead WHERE NOT is_history ORDER BY source LIMIT 1)
                UNION ALL
                SELECT (SELECT l.source FROM leads_lead l
                        WHERE NOT l.is_history AND l.source > sources.source
                        ORDER BY l.source LIMIT 1)
                FROM sources WHERE sources.source IS NOT NULL
            )
            SELECT source FROM sources WHERE source IS NOT NULL LIMIT %s
            """,
            [limit],
        )
        return [row[0] for row in cursor.fetchall()]


def queues_of(user: User) -> list[tuple[str, str]]:
    """The queues this person manages, as (key, name): each team they manage (an admin:
    every sales team) and, for an admin, the organisation's ("none": no team covers)."""
    from alignment.models import Team

    if user.has_perm(perm("manage_organisation")):
        teams = Team.objects.filter(side="sales").order_by("name")
        return [(str(t.pk), t.name) for t in teams] + [("none", "No team (organisation)")]
    teams = Team.objects.filter(manager=user, side="sales").order_by("name")
    return [(str(t.pk), t.name) for t in teams]


def queued(key: str) -> QuerySet[Lead]:
    """One queue (a team's id, or "none"): its MQLs nobody holds, oldest first, with
    the assignment deadline they wait under (on the lead: `action_due_at`)."""
    team = None if key == "none" else int(key)
    return (
        Lead.objects.filter(stage="mql", owner__isnull=True, team_id=team)
        .select_related("team", "campaign")
        .order_by("queued_at", "id")
    )
