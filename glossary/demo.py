"""The demo organisation's lexicon and its first agreed definitions.

The MQL v1 rules are written on the attributes of the real public data set in
../shared/data/x-education-leads.csv (column names as attribute keys), and were
tuned against its `Converted` column: threshold 30 qualifies about 36% of the
9,240 leads, of which 84% converted, against 13% of the rest (ROC AUC 0.94).
"""

from __future__ import annotations

from django.db import transaction

from alignment.models import User
from glossary import services
from glossary.models import (
    DefinitionVersion,
    FunnelStage,
    MessagePlatform,
    RejectionReason,
    StageSide,
    Term,
)

# key, name, side, outcome, qualifying, description
STAGES = [
    (
        "inquiry",
        "Inquiry",
        StageSide.MARKETING,
        False,
        False,
        "Someone raised a hand: a form, a download, a chat. Not yet judged.",
    ),
    (
        "mql",
        "MQL",
        StageSide.MARKETING,
        False,
        True,
        "Marketing qualified lead: scores at or above the agreed MQL threshold and is handed "
        "to sales.",
    ),
    (
        "sal",
        "SAL",
        StageSide.SALES,
        False,
        True,
        "Sales accepted lead: a rep checked the MQL and agreed to work it.",
    ),
    (
        "sql",
        "SQL",
        StageSide.SALES,
        False,
        True,
        "Sales qualified lead: authority, budget and time frame confirmed in conversation.",
    ),
    (
        "opportunity",
        "Opportunity",
        StageSide.SALES,
        False,
        False,
        "A deal in the pipeline with an amount and a close date.",
    ),
    (
        "customer",
        "Customer",
        StageSide.SHARED,
        False,
        False,
        "Bought and is being onboarded; marketing and sales both own the relationship.",
    ),
    ("won", "Won", StageSide.SALES, True, False, "The deal closed with a signed order."),
    (
        "lost",
        "Lost",
        StageSide.SALES,
        True,
        False,
        "The buyer chose a competitor or another way; we know why.",
    ),
    (
        "no_decision",
        "No decision",
        StageSide.SALES,
        True,
        False,
        "The buyer did nothing: no budget, no urgency, went silent. Tracked apart from Lost.",
    ),
    (
        "nurture",
        "Nurture / Recycled",
        StageSide.MARKETING,
        True,
        False,
        "Not ready now; back with marketing to be nurtured and perhaps qualified again.",
    ),
    (
        "disqualified",
        "Disqualified",
        StageSide.SHARED,
        True,
        False,
        "Not a lead at all: bad data, a student, a competitor, a duplicate.",
    ),
]

# name, stands for, definition, stage key
TERMS = [
    (
        "Lead",
        "",
        "A person (and their company) who showed interest and whom we can contact. "
        "Every lead starts as an Inquiry.",
        "inquiry",
    ),
    ("Inquiry", "", "A lead nobody has judged yet.", "inquiry"),
    (
        "MQL",
        "Marketing qualified lead",
        "A lead whose score reaches the threshold of the MQL "
        "definition in force. Marketing hands every MQL to sales.",
        "mql",
    ),
    (
        "SAL",
        "Sales accepted lead",
        "An MQL a rep accepted within the SLA: the data is right and it is worth a conversation.",
        "sal",
    ),
    (
        "SQL",
        "Sales qualified lead",
        "A lead with confirmed decision authority, budget status and decision time frame.",
        "sql",
    ),
    (
        "SLA",
        "Service-level agreement",
        "What each side owes the other in time and volume: "
        "how fast sales accepts and calls, how many MQLs marketing delivers.",
        None,
    ),
    ("Handoff", "", "The moment an MQL is assigned to a rep; the SLA clocks start.", None),
    (
        "Recycled",
        "",
        "A lead sent back to marketing to nurture, with the reason it was not ready.",
        "nurture",
    ),
    ("Nurture", "", "Marketing's follow-up for leads that are not ready to buy yet.", "nurture"),
    (
        "Opportunity",
        "",
        "A qualified deal in the pipeline with an amount and close date.",
        "opportunity",
    ),
    (
        "No decision",
        "",
        "A deal that ended because the buyer decided nothing. Counted apart "
        "from Lost: its share is a health sign managers watch.",
        "no_decision",
    ),
    ("Rejection reason", "", "Why sales turned a lead back: what a good lead is not.", None),
    ("Threshold", "", "The score a lead must reach to qualify under a definition.", None),
    ("Fit", "", "Scoring points for who the lead is (role, occupation, source).", None),
    (
        "Behaviour",
        "",
        "Scoring points for what the lead did (visits, time on site, replies).",
        None,
    ),
    (
        "Conversion",
        "",
        "A lead moving to the next stage; unqualified, it means becoming a customer.",
        None,
    ),
]

# code, label, requires note, description
REASONS = [
    ("bad_contact_data", "Bad contact data", False, "Email bounces, number does not work."),
    (
        "not_decision_maker",
        "Not a decision maker",
        False,
        "No say in the purchase, no path to whoever has it.",
    ),
    ("no_budget", "No budget", False, "Cannot pay now or in the coming year."),
    ("competitor", "Competitor", False, "Works for a competitor or is researching us."),
    (
        "student",
        "Student or job seeker",
        False,
        "Looking for a course for themselves, not a buyer.",
    ),
    ("duplicate", "Duplicate", False, "Already a lead or a customer."),
    ("wrong_territory", "Wrong territory", False, "Outside the regions we sell to."),
    ("other", "Other", True, "Anything else: say what in the note."),
]

MQL_RULES = [
    # fit: who the lead is
    {
        "label": "Working professional or business owner",
        "field": "What is your current occupation",
        "operator": "in",
        "value": ["Working Professional", "Businessman"],
        "points": 25,
        "kind": "fit",
    },
    {
        "label": "Job seeker (unemployed)",
        "field": "What is your current occupation",
        "operator": "equals",
        "value": "Unemployed",
        "points": 5,
        "kind": "fit",
    },
    {
        "label": "Came through a referral or partner site",
        "field": "Lead Source",
        "operator": "in",
        "value": ["Reference", "Welingak Website"],
        "points": 25,
        "kind": "fit",
    },
    {
        "label": "Filled in the lead add form",
        "field": "Lead Origin",
        "operator": "equals",
        "value": "Lead Add Form",
        "points": 20,
        "kind": "fit",
    },
    {
        "label": "Searched for us",
        "field": "Lead Source",
        "operator": "in",
        "value": ["Google", "Organic Search"],
        "points": 5,
        "kind": "fit",
    },
    {
        "label": "Rated relevant on the first call",
        "field": "Lead Quality",
        "operator": "in",
        "value": ["High in Relevance", "Might be"],
        "points": 15,
        "kind": "fit",
    },
    {
        "label": "Rated worst on the first call",
        "field": "Lead Quality",
        "operator": "equals",
        "value": "Worst",
        "points": -25,
        "kind": "fit",
    },
    {
        "label": "Already a student or not eligible",
        "field": "Tags",
        "operator": "in",
        "value": [
            "Already a student",
            "Not doing further education",
            "Diploma holder (Not Eligible)",
            "Interested in other courses",
            "Interested  in full time MBA",
            "Graduation in progress",
        ],
        "points": -30,
        "kind": "fit",
    },
    {
        "label": "Cannot be reached by phone",
        "field": "Tags",
        "operator": "in",
        "value": [
            "invalid number",
            "wrong number given",
            "number not provided",
            "switched off",
            "Ringing",
        ],
        "points": -20,
        "kind": "fit",
    },
    {
        "label": "Asked not to be emailed",
        "field": "Do Not Email",
        "operator": "equals",
        "value": "Yes",
        "points": -10,
        "kind": "fit",
    },
    # behaviour: what the lead did
    {
        "label": "Spent over 12 minutes on the site",
        "field": "Total Time Spent on Website",
        "operator": "greater_than",
        "value": 750,
        "points": 25,
        "kind": "behaviour",
    },
    {
        "label": "Spent 8 to 12 minutes on the site",
        "field": "Total Time Spent on Website",
        "operator": "between",
        "value": [500, 750],
        "points": 10,
        "kind": "behaviour",
    },
    {
        "label": "Visited 5 times or more",
        "field": "TotalVisits",
        "operator": "greater_than",
        "value": 4,
        "points": 5,
        "kind": "behaviour",
    },
    {
        "label": "Answered an SMS or a call",
        "field": "Last Activity",
        "operator": "in",
        "value": ["SMS Sent", "Had a Phone Conversation"],
        "points": 20,
        "kind": "behaviour",
    },
    {
        "label": "Only chatted with the bot or bounced",
        "field": "Last Activity",
        "operator": "in",
        "value": ["Olark Chat Conversation", "Email Bounced", "Converted to Lead"],
        "points": -15,
        "kind": "behaviour",
    },
]

SAL_RULES = [
    {
        "label": "Has a phone number",
        "field": "phone",
        "operator": "present",
        "value": None,
        "points": 10,
        "kind": "fit",
    },
    {
        "label": "Has an email address",
        "field": "email",
        "operator": "present",
        "value": None,
        "points": 10,
        "kind": "fit",
    },
    {
        "label": "Country known",
        "field": "country",
        "operator": "present",
        "value": None,
        "points": 5,
        "kind": "fit",
    },
    {
        "label": "Company known",
        "field": "company",
        "operator": "present",
        "value": None,
        "points": 5,
        "kind": "fit",
    },
]

SQL_RULES = [
    {
        "label": "Budget approved or allocated",
        "field": "budget_status",
        "operator": "in",
        "value": ["approved", "allocated"],
        "points": 40,
        "kind": "fit",
    },
    {
        "label": "Budget being planned",
        "field": "budget_status",
        "operator": "equals",
        "value": "planned",
        "points": 20,
        "kind": "fit",
    },
    {
        "label": "Speaking with the decision maker",
        "field": "decision_authority",
        "operator": "in",
        "value": ["decision maker", "yes"],
        "points": 30,
        "kind": "fit",
    },
    {
        "label": "Decision within two quarters",
        "field": "decision_time_frame",
        "operator": "in",
        "value": ["this quarter", "next quarter"],
        "points": 30,
        "kind": "behaviour",
    },
]

DEFINITIONS = {
    "mql": {
        "threshold": 30,
        "required_fields": [],
        "rules": MQL_RULES,
        "reasons": ["bad_contact_data", "student", "duplicate", "wrong_territory", "other"],
        "summary": "First agreed MQL definition, tuned on last year's leads.",
        "good_lead": "A working professional, or someone referred to us, who spent real time "
        "on the course pages and answered when we reached out. Most MQLs score 30 or more from "
        "a mix of fit and behaviour.",
        "not_a_lead": "Students already enrolled elsewhere, people not eligible for the "
        "courses, numbers that never answer, people who asked us not to email them.",
        "handling": "Sales accepts or rejects within the SLA; a rejection names the reason, "
        "and the lead returns to nurture.",
    },
    "sal": {
        "threshold": 20,
        "required_fields": ["email"],
        "rules": SAL_RULES,
        "reasons": [
            "bad_contact_data",
            "not_decision_maker",
            "duplicate",
            "wrong_territory",
            "competitor",
            "other",
        ],
        "summary": "What a rep checks before accepting.",
        "good_lead": "An MQL we can reach (email, and phone or country) and who fits the "
        "territory.",
        "not_a_lead": "Contact data that does not work; a duplicate; another territory.",
        "handling": "Accept within the SLA and make the first touch; otherwise reject with a "
        "reason.",
    },
    "sql": {
        "threshold": 60,
        "required_fields": ["decision_authority", "budget_status", "decision_time_frame"],
        "rules": SQL_RULES,
        "reasons": ["not_decision_maker", "no_budget", "competitor", "other"],
        "summary": "Authority, budget and time frame, confirmed in conversation.",
        "good_lead": "We spoke with someone who decides (or will bring the decider), the "
        "budget is at least planned, and they mean to decide within two quarters.",
        "not_a_lead": "Interest with no budget and no time frame: that is nurture, not SQL.",
        "handling": "Open an opportunity with an amount and close date.",
    },
}


def seed_demo(*, stdout=None) -> None:
    """Idempotent: what exists is left as it is."""
    with transaction.atomic():
        stages = _seed_stages_and_reasons()
        maya = User.objects.get(username="maya")
        sam = User.objects.get(username="sam")
        for name, acronym_of, definition, stage_key in TERMS:
            if not Term.objects.filter(name__iexact=name).exists():
                services.term_save(
                    by=maya,
                    name=name,
                    acronym_of=acronym_of,
                    definition=definition,
                    stage=stages.get(stage_key) if stage_key else None,
                )
        for key, spec in DEFINITIONS.items():
            if not DefinitionVersion.objects.filter(stage=stages[key]).exists():
                _sign_definition(stages[key], spec, maya=maya, sam=sam)
        seed_message_platform(maya=maya, sam=sam)
    if stdout is not None:
        stdout.write(
            "Glossary: funnel stages, terms, rejection reasons, MQL/SAL/SQL v1 and the "
            "message platform v1 in force."
        )


def _seed_stages_and_reasons() -> dict:
    stages = {}
    for position, (key, name, side, outcome, qualifying, description) in enumerate(STAGES):
        stages[key], _ = FunnelStage.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "side": side,
                "is_outcome": outcome,
                "is_qualifying": qualifying,
                "description": description,
                "position": (position + 1) * 10,
            },
        )
    for position, (code, label, note, description) in enumerate(REASONS):
        RejectionReason.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "requires_note": note,
                "description": description,
                "position": (position + 1) * 10,
            },
        )
    return stages


def _sign_definition(stage, spec: dict, *, maya, sam) -> None:
    """Version 1 of a stage's definition: drafted and proposed by maya, signed by both sides."""
    draft = services.draft_create(
        stage=stage,
        by=maya,
        rules=spec["rules"],
        threshold=spec["threshold"],
        required_fields=spec["required_fields"],
        rejection_reasons=spec["reasons"],
        summary=spec["summary"],
        good_lead=spec["good_lead"],
        not_a_lead=spec["not_a_lead"],
        handling=spec["handling"],
    )
    proposal = services.draft_propose(version=draft, by=maya, expected_revision=draft.revision)
    proposal = services.proposal_sign(
        version=proposal, by=maya, expected_revision=proposal.revision
    )
    services.proposal_sign(version=proposal, by=sam, expected_revision=proposal.revision)


OCCUPATION = "What is your current occupation"
PLATFORM = {
    "summary": "First message platform: one promise, three personas.",
    "value_proposition": (
        "Career-ready online courses from X Education: industry-recognised certificates, "
        "taught live by practitioners, that fit around a working week. An MQL hears the "
        "same promise from marketing's campaign and from the rep who calls."
    ),
    "personas": [
        {
            "persona": "Working professional",
            "description": "Employed, looking to move up or change track; pays for it.",
            "match_field": OCCUPATION,
            "match_values": ["Working Professional"],
            "key_messages": "Move up without stopping work: evening and weekend cohorts.",
            "differentiators": "Live classes with practitioners; employer-paid invoicing.",
            "proof_points": "Most graduates report a promotion or new role within a year.",
        },
        {
            "persona": "Student",
            "description": "At university or just graduated; parents often decide.",
            "match_field": OCCUPATION,
            "match_values": ["Student"],
            "key_messages": "Add a job-ready skill to your degree, with a certificate.",
            "differentiators": "Student pricing; projects for a portfolio.",
            "proof_points": "Internship partners in every course.",
        },
        {
            "persona": "Career changer",
            "description": "Between jobs or returning to work.",
            "match_field": OCCUPATION,
            "match_values": ["Unemployed", "Housewife"],
            "key_messages": "A structured path back into work, with placement support.",
            "differentiators": "Placement assistance and mock interviews.",
            "proof_points": "Placement team with hiring partners.",
        },
    ],
}


def seed_message_platform(*, maya, sam) -> None:
    """The message platform v1, drafted by marketing and signed by both sides."""
    from glossary import platform

    if MessagePlatform.objects.exists():
        return
    draft = platform.platform_draft_create(by=maya, **PLATFORM)
    proposed = platform.platform_propose(platform=draft, by=maya, expected_revision=draft.revision)
    proposed = platform.platform_sign(
        platform=proposed, by=maya, expected_revision=proposed.revision
    )
    platform.platform_sign(platform=proposed, by=sam, expected_revision=proposed.revision)


# seed_demo runs the apps in this order: definitions, then the agreement, then leads.
DEMO_ORDER = 10
