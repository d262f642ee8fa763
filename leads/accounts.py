"""Accounts and duplicates: a new lead is linked to its company's account (by its
email's domain, free-mail domains aside) and to the earliest lead with the same
email (any source), and remembers who works them ("sticky owner" candidate for a
routing rule that keeps leads with their account owner, leads.assignment).

Set-based: a batch of a thousand new leads costs four queries (the duplicates by
email, the accounts inserted and read, the open owners of those accounts),
not four per lead. The email lookup reads `lead_email_lower_idx`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Lower

from alignment.models import User
from leads.models import FREE_MAIL_DOMAINS, Account, Lead
from leads.stages import OPEN_STAGES, Stage


def normal_email(email: str | None) -> str:
    return (email or "").strip().lower()


def domain_of(email: str | None) -> str:
    """The company domain of an address ("" for none, or a free-mail address)."""
    email = normal_email(email)
    if "@" not in email:
        return ""
    domain = email.rsplit("@", 1)[1].strip(".")
    if not domain or "." not in domain or domain in FREE_MAIL_DOMAINS:
        return ""
    return domain[:255]


@dataclass(frozen=True)
class Sticky:
    """Who works this lead's account or its duplicate, and how we know."""

    owner_id: int
    team_id: int | None
    why: str


def by_email(emails: set[str]):
    """The live leads with these (normalised) emails, oldest first: the index's expression
    and condition, so that one query answers a whole batch."""
    return (
        Lead.objects.exclude(email="")
        .alias(email_key=Lower("email"))
        .filter(email_key__any=sorted(emails))
        .exclude(stage=Stage.MERGED)
        .order_by("pk")
    )


# One index probe per email, driven by the batch's list: PostgreSQL keeps no statistics
# on the partial index's lower(email), so for `= ANY(a thousand emails)` it guesses
# nearly every row matches and reads the whole table (216 ms at 69,000 leads, and
# growing with them); a LATERAL probe per email costs what the batch holds (OFFSET 0
# keeps the planner from flattening it into that same join).
_DUPLICATES_SQL = f"""
    SELECT lead.id, lead.email, lead.owner_id, person.team_id, lead.stage
    FROM unnest(%s::text[]) AS wanted (email_key)
    CROSS JOIN LATERAL (
        SELECT id, email, owner_id, stage FROM {Lead._meta.db_table}
        WHERE lower(email) = wanted.email_key AND NOT email = '' AND NOT stage = %s
        OFFSET 0
    ) AS lead
    LEFT JOIN {User._meta.db_table} AS person ON person.id = lead.owner_id
    ORDER BY lead.id
"""  # noqa: S608 - table names from the models


def _duplicates(emails: set[str]) -> dict[str, tuple]:
    first: dict[str, tuple] = {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Its guessed cost (no statistics, above) is high enough for PostgreSQL to
            # compile the query (JIT): 400 ms for 10 ms of work. Off for this one only.
            cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
            jit = cursor.fetchone()[0]
            cursor.execute(_DUPLICATES_SQL, [sorted(emails), Stage.MERGED.value])
            rows = cursor.fetchall()
            cursor.execute("SELECT set_config('jit', %s, true)", [jit])
    else:
        rows = by_email(emails).values_list("pk", "email", "owner_id", "owner__team_id", "stage")
    for pk, email, owner_id, team_id, stage in rows:
        first.setdefault(normal_email(email), (pk, owner_id, team_id, stage))
    return first


def _accounts(domains: set[str], now: datetime) -> dict[str, int]:
    if not domains:
        return {}
    # A concurrent batch may insert the same domain: ON CONFLICT DO NOTHING, then read.
    Account.objects.bulk_create(
        [Account(domain=d, created_at=now) for d in sorted(domains)], ignore_conflicts=True
    )
    return dict(Account.objects.filter(domain__in=domains).values_list("domain", "pk"))


def _account_owners(account_ids: set[int]) -> dict[int, tuple[int, int | None]]:
    """Per account, the rep of its most recently handed-off open lead (one without a
    hand-off time only if none has one): a probe or two of lead_account_open_idx per
    account, however many open leads it has (a DISTINCT ON read them all: 94 to 221
    ms a bulk request in the ingest benchmark)."""
    if not account_ids:
        return {}
    open_leads = Lead.objects.filter(
        account_id=OuterRef("pk"), stage__in=OPEN_STAGES, owner__isnull=False
    )
    timed = open_leads.filter(handed_off_at__isnull=False).order_by("-handed_off_at", "-id")
    untimed = open_leads.filter(handed_off_at__isnull=True).order_by("-id")

    def latest(column: str) -> Coalesce:
        return Coalesce(Subquery(timed.values(column)[:1]), Subquery(untimed.values(column)[:1]))

    rows = (
        Account.objects.filter(pk__in=account_ids)
        .order_by()
        .annotate(owner=latest("owner_id"), team=latest("owner__team_id"))
        .filter(owner__isnull=False)
        .values_list("pk", "owner", "team")
    )
    return {account_id: (owner_id, team_id) for account_id, owner_id, team_id in rows}


def link_new_leads(leads: list[Lead], *, now: datetime) -> None:
    """Link unsaved new leads to their account and earliest duplicate, in memory, and
    leave on each its sticky-owner candidate (`lead._sticky`, or None)."""
    emails = {normal_email(lead.email) for lead in leads} - {""}
    duplicates = _duplicates(emails) if emails else {}
    accounts = _accounts({d for d in map(domain_of, emails) if d}, now)
    owners = _account_owners(set(accounts.values()))
    for lead in leads:
        email = normal_email(lead.email)
        lead.account_id = accounts.get(domain_of(email))
        dup = duplicates.get(email) if email else None
        lead.duplicate_of_id = dup[0] if dup else None
        lead._sticky = None
        if dup and dup[1] and dup[3] in OPEN_STAGES:
            lead._sticky = Sticky(dup[1], dup[2], f"works lead #{dup[0]} with the same email")
        elif lead.account_id in owners:
            owner_id, team_id = owners[lead.account_id]
            lead._sticky = Sticky(owner_id, team_id, f"works the account {domain_of(email)}")


def sticky_of(lead: Lead) -> Sticky | None:
    """The sticky-owner candidate of a saved lead (a hand-off outside ingest)."""
    email = normal_email(lead.email)
    if not email:
        return None
    dup = (
        by_email({email})
        .exclude(pk=lead.pk or 0)
        .filter(stage__in=OPEN_STAGES, owner__isnull=False)
        .values_list("pk", "owner_id", "owner__team_id")
        .first()
    )
    if dup:
        return Sticky(dup[1], dup[2], f"works lead #{dup[0]} with the same email")
    if lead.account_id:
        found = _account_owners({lead.account_id}).get(lead.account_id)
        if found:
            return Sticky(found[0], found[1], f"works the account {domain_of(email)}")
    return None


def duplicate_filter(lead: Lead) -> Q:
    """Other live leads with this lead's email (for the lead page)."""
    return Q(pk__in=by_email({normal_email(lead.email)}).exclude(pk=lead.pk).values("pk")[:5])


def sticky_for_email(email: str | None) -> Sticky | None:
    """The sticky-owner candidate a new lead with this email would have ("where would
    this lead go?": a plain read)."""
    domain = domain_of(email)
    account_id = Account.objects.filter(domain=domain).values_list("pk", flat=True).first()
    return sticky_of(Lead(email=normal_email(email), account_id=account_id))
