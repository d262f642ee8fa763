"""Demo leads: campaigns and about 600 leads over the last 60 days, in every stage.

Their attributes are real rows of the public X Education data set in
../shared/data (anonymised there; names and companies are made up here), so
the agreed MQL definition scores them as it would real leads, and each lead's
story follows its real outcome (`Converted`). Every step goes through the
services with the time it happened, so the event log reads like real history.
"""

from __future__ import annotations

import contextlib
import csv
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from alignment import clock
from alignment.models import Team, User
from glossary.scoring import compile_definition
from glossary.selectors import definition_in_force
from leads import ingest, services
from leads.machine import GuardRefused, Stage
from leads.models import Campaign, Channel, Lead, Territory
from leads.validation import CONTACT_FIELDS

DATA = settings.LEAD_DATA_FILE
DEMO_SOURCE_PREFIX = "demo-"
LEADS = 600
# After the definitions and the agreement (see alignment seed_demo).
DEMO_ORDER = 30

FIRST = [
    "Aarav",
    "Ana",
    "Ben",
    "Chloe",
    "Daniel",
    "Elif",
    "Farah",
    "Gabriel",
    "Hana",
    "Ivan",
    "Jana",
    "Kofi",
    "Lena",
    "Marco",
    "Noor",
    "Olivia",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Yara",
    "Zoe",
    "Liam",
    "Mei",
    "Jonas",
    "Priya",
]
LAST = [
    "Ahmed",
    "Berg",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Müller",
    "Novak",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Singh",
    "Tanaka",
    "Umarov",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhou",
]
COMPANIES = [
    "Acme Learning",
    "Brightpath",
    "Cobalt Systems",
    "Delta Health",
    "Evergreen Bank",
    "Fjord Logistics",
    "Globex",
    "Helio Energy",
    "Ironclad Insurance",
    "Juniper Retail",
    "Kestrel Labs",
    "Lumen Media",
    "Meridian Foods",
    "Northwind",
    "Orbit Telecom",
    "Pioneer Pharma",
    "Quanta Robotics",
    "Redwood Capital",
    "Summit Travel",
    "Tidal Water",
]
TITLES = [
    "Head of Training",
    "HR Director",
    "L&D Manager",
    "CTO",
    "Operations Manager",
    "Team Lead",
    "Analyst",
    "Student",
    "VP People",
    "Founder",
]
COUNTRIES = [
    ("United States", 30),
    ("Canada", 8),
    ("Brazil", 5),
    ("United Kingdom", 15),
    ("Germany", 15),
    ("France", 10),
    ("India", 12),
    ("Netherlands", 5),
]
CAMPAIGNS = [
    ("Spring webinar series", Channel.WEBINAR, "4800.00", 70, 80),
    ("Paid search: upskilling", Channel.PAID_SEARCH, "12500.00", 60, 150),
    ("LinkedIn: leadership", Channel.SOCIAL, "7300.00", 45, 90),
    ("Partner referrals", Channel.REFERRAL, "1500.00", 60, 40),
    ("HR Tech Expo booth", Channel.EVENTS, "9800.00", 30, 60),
]
TERRITORIES = {
    "Sales Americas": ["United States", "Canada", "Brazil", "Mexico"],
    "Sales EMEA": ["*"],
}


def _real_rows(limit: int) -> list[dict[str, str]]:
    if not DATA.exists():
        return []
    with DATA.open(newline="", encoding="utf-8") as handle:
        rows = []
        for row in csv.DictReader(handle):
            rows.append({k: v for k, v in row.items() if k})
            if len(rows) >= limit:
                break
    return rows


def _working_time(moment: datetime, rng: random.Random) -> datetime:
    """Move a moment into a weekday's working hours (UTC-ish; good enough for a demo)."""
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment.replace(
        hour=rng.randint(8, 16), minute=rng.randint(0, 59), second=0, microsecond=0
    )


def _seed_campaigns(now: datetime) -> list[Campaign]:
    """The territories and the campaigns (both idempotent)."""
    maya = User.objects.get(username="maya")
    with transaction.atomic():
        for team_name, countries in TERRITORIES.items():
            team = Team.objects.get(name=team_name)
            for country in countries:
                Territory.objects.get_or_create(country=country, defaults={"team": team})
        campaigns = []
        for name, channel, cost, days_ago, expected in CAMPAIGNS:
            campaign, _ = Campaign.objects.get_or_create(
                name=name,
                defaults={
                    "channel": channel,
                    "cost": Decimal(cost),
                    "owner": maya,
                    "starts_on": (now - timedelta(days=days_ago)).date(),
                    "ends_on": (now + timedelta(days=14)).date(),
                    "expected_leads": expected,
                    # The calendar plans by the week: the total spread over its weeks.
                    "expected_per_week": -(-expected * 7 // (days_ago + 14)),
                },
            )
            if not campaign.target_teams.exists():
                campaign.target_teams.set(Team.objects.filter(name__in=TERRITORIES))
            campaigns.append(campaign)
    return campaigns


def seed_demo(*, stdout=None) -> None:
    if Lead.objects.filter(source__startswith=DEMO_SOURCE_PREFIX).exists():
        if stdout:
            stdout.write("Leads: demo leads already there.")
        return
    rng = random.Random(20261122)
    now = clock.now()
    campaigns = _seed_campaigns(now)
    rows = _real_rows(LEADS)
    if not rows and stdout:
        stdout.write(
            f"Leads: no demo leads: the X Education data set is not at {DATA} "
            "(set ALIGNMENT_LEAD_DATA to its path)."
        )
    countries = [c for c, weight in COUNTRIES for _ in range(weight)]
    leo = User.objects.get(username="leo")
    counts: dict[str, int] = {}
    for index, row in enumerate(rows):
        created = _working_time(now - timedelta(days=rng.uniform(0.2, 60)), rng)
        if created > now:
            created = now - timedelta(hours=1)
        campaign = rng.choice(campaigns) if rng.random() < 0.8 else None
        data = _lead_data(row, index, rng, country=rng.choice(countries), campaign=campaign)
        with transaction.atomic():
            lead = ingest.lead_ingest(data=data, by=leo, now=created, via="demo").lead
            _play(lead, converted=row.get("Converted") == "1", rng=rng, now=now)
        counts[lead.stage] = counts.get(lead.stage, 0) + 1
    if stdout:
        summary = ", ".join(f"{Stage(k).label} {v}" for k, v in sorted(counts.items()))
        stdout.write(f"Leads: {len(rows)} demo leads from the real data set ({summary}).")


def _lead_data(
    row: dict[str, str], index: int, rng: random.Random, *, country: str, campaign=None
) -> dict:
    """A lead for the ingest service from a real row, with a made-up person."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(COMPANIES)
    return {
        "source": DEMO_SOURCE_PREFIX + (row.get("Lead Source") or "web").lower().replace(" ", "-"),
        "external_id": row.get("Prospect ID") or f"demo-{index}",
        "email": f"{first}.{last}{index}@{company.split()[0].lower()}.example".lower(),
        "first_name": first,
        "last_name": last,
        "company": company,
        "title": rng.choice(TITLES),
        "country": country,
        "phone": "",
        "attributes": {k: v for k, v in row.items() if k not in ("Prospect ID", "Converted")},
        "campaign": campaign.pk if campaign else None,
    }


def fresh_leads(
    *,
    country: str,
    at: datetime,
    count: int,
    keep: Callable[[int | None, dict, dict], bool] | None = None,
) -> list[Lead]:
    """`count` new MQLs handed off at `at` (the inbox's newest ones), from rows of
    the data set not used yet (the history took the first LEADS). Rows that the
    MQL definition in force does not qualify, or that `keep(score, fields,
    attributes)` refuses, are passed over. Fewer when the data set runs out."""
    version = definition_in_force("mql")
    if version is None:
        return []
    compiled = compile_definition(version)
    used = set(
        Lead.objects.filter(source__startswith=DEMO_SOURCE_PREFIX).values_list(
            "external_id", flat=True
        )
    )
    rng = random.Random(len(used))
    leo = User.objects.get(username="leo")
    made: list[Lead] = []
    for index, row in enumerate(_real_rows(LEADS + len(used) + 50 * count)):
        if len(made) == count:
            break
        if (row.get("Prospect ID") or f"demo-{index}") in used:
            continue
        data = _lead_data(row, index, rng, country=country)
        fields = {name: data.get(name, "") for name in (*CONTACT_FIELDS, "source")}
        result = compiled.score(fields=fields, attributes=data["attributes"])
        if not result.qualified or (keep and not keep(result.points, fields, data["attributes"])):
            continue
        used.add(data["external_id"])
        with transaction.atomic():
            lead = ingest.lead_ingest(data=data, by=leo, now=at, via="demo").lead
        if lead.owner_id:
            made.append(lead)
    return made


def _play(lead: Lead, *, converted: bool, rng: random.Random, now: datetime) -> None:
    """Act out a lead's story from its hand-off on, never past `now`."""
    if lead.stage != Stage.MQL or lead.owner_id is None:
        return
    rep = lead.owner
    t = lead.handed_off_at + timedelta(hours=rng.choice([0.5, 1, 2, 3, 5, 8, 20, 30]))
    if t > now or rng.random() < 0.08:
        return  # still waiting for the rep: these go stale once deadlines are watched
    if not converted and rng.random() < 0.5:
        reason = rng.choice(
            [
                "not_decision_maker",
                "no_budget",
                "student",
                "bad_contact_data",
                "duplicate",
                "competitor",
            ]
        )
        services.lead_reject(lead=lead, by=rep, reason=reason, now=t)
        return
    services.lead_accept(lead=lead, by=rep, now=t)
    # Reps who end up losing a lead work it as the agreement asks first:
    # at least three attempts over several business days.
    attempts = rng.randint(3, 5) if not converted else rng.randint(1, 4)
    for n in range(attempts):
        t += timedelta(hours=rng.uniform(2, 8)) if n == 0 else timedelta(days=rng.uniform(1, 3))
        if t > now:
            return
        services.lead_log_touch(
            lead=lead,
            by=rep,
            now=t,
            kind=rng.choice(["call", "email", "meeting", "social"]),
            outcome=rng.choice(["connected", "left_message", "no_answer", "replied"]),
        )
    t += timedelta(days=rng.uniform(1, 6))
    if t > now:
        return
    if not converted:
        outcome = "no_decision" if rng.random() < 0.35 else "lost"
        # Not enough attempts yet (the agreement's abandon rule): the rep keeps working it.
        with contextlib.suppress(GuardRefused):
            services.lead_close(lead=lead, by=rep, outcome=outcome, now=t)
        return
    services.lead_qualify(lead=lead, by=rep, now=t)
    t += timedelta(days=rng.uniform(1, 7))
    if t > now:
        return
    services.lead_convert(lead=lead, by=rep, now=t)
    t += timedelta(days=rng.uniform(2, 14))
    if t > now or rng.random() < 0.15:
        return
    amount = Decimal(rng.randrange(800, 24000, 100))
    services.lead_close(lead=lead, by=rep, outcome="won", amount=amount, now=t)
