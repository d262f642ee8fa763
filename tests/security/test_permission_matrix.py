"""Who may use which URL: every pattern of the URLconf × every role × its methods.

The table below is the decision. A URL pattern that is not in it fails the
suite (`test_every_url_pattern_is_in_the_table`), so nobody adds an endpoint
without saying who may use it. To add one: a line in the table of its app,
with `args` when its path takes parameters (built from the `world` in
conftest.py) and `data` when a POST needs a body to get past validation to
the permission check (a 400 would hide a missing 403).

Outcomes: "ok" (reached the action: 2xx, a redirect elsewhere than a sign-in
page, or a 400/409 about the input or the lead's stage), "deny" (401/403),
"login" (redirected to a sign-in page), "hidden" (404: the row is not theirs
to see), "405" (the method is not offered). Each request runs in a savepoint
that is rolled back, so no request sees another's writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.security.conftest import ROLES, World
from tests.security.urlconf import patterns

SIGNED_IN = tuple(r for r in ROLES if r != "anonymous")
SIGN_IN = "sign-in"  # "login" for a browser URL, "deny" under /api/


def only(*allowed: str, **special: str) -> dict[str, str]:
    """The roles named may (ok); other signed-in roles get 403; anonymous must sign in."""
    unknown = set(allowed) - set(SIGNED_IN) or set(special) - set(ROLES)
    assert not unknown, f"no such role: {unknown}"
    table = {role: ("ok" if role in allowed else "deny") for role in SIGNED_IN}
    table["anonymous"] = SIGN_IN
    table.update(special)
    return table


def every(outcome: str, **special: str) -> dict[str, str]:
    table = dict.fromkeys(SIGNED_IN, outcome)
    # A method nobody is offered: whether Django asks a stranger to sign in first
    # depends on the order of the view's decorators, and either is fine.
    table["anonymous"] = SIGN_IN if outcome != "405" else "405|" + SIGN_IN
    table.update(special)
    return table


EVERYONE = only(*SIGNED_IN)
PUBLIC = every("ok", anonymous="ok")
NOT_OFFERED = every("405")
# DRF authenticates before it looks at the method: anonymous is refused first.
API_NOT_OFFERED = every("405", anonymous="deny")
# Roles by capability (alignment.roles); the demo admin is a superuser and holds all.
MANAGERS = ("marketing_manager", "sales_manager", "admin")
DASHBOARDS = (*MANAGERS, "arbiter")
DRAFTERS = ("marketer", "marketing_manager", "admin")
AGREEMENT_DRAFTERS = ("marketer", *MANAGERS)
WORKERS = ("sales_rep", "sales_manager", "admin")  # on ravi's lead: ravi, his manager
# The team's manager; the arbiter only through a case (sla:case_decide), issue 9 item 2.
REASSIGNERS = ("sales_manager", "admin")
MARKETING = ("marketer", "marketing_manager", "admin")


@dataclass
class Row:
    methods: dict[str, dict[str, str]]
    args: Callable[[World], dict[str, Any]] = lambda w: {}
    data: Callable[[World], dict[str, Any]] = lambda w: {}


def row(args=None, data=None, **methods: dict[str, str]) -> Row:
    return Row(methods=methods, args=args or (lambda w: {}), data=data or (lambda w: {}))


def sams_view(w: World) -> int:
    from django.utils import timezone

    from sla.models import SavedView

    view, _ = SavedView.objects.get_or_create(
        owner=w.people["sales_manager"],
        name="Sam's",
        defaults={"query": "team=all", "days": 30, "created_at": timezone.now()},
    )
    return view.pk


def lead(w: World) -> dict:
    return {"pk": w.lead.pk}


def rejected(w: World) -> dict:
    return {"pk": w.rejected.pk}


def draft(w: World) -> dict:
    return {"pk": w.draft.pk}


def platform_draft(w: World) -> dict:
    return {"pk": w.platform_draft.pk}


def agreement_draft(w: World) -> dict:
    return {"pk": w.agreement_draft.pk}


def campaign(w: World) -> dict:
    from leads.models import Campaign

    made, _ = Campaign.objects.get_or_create(name="Matrix campaign")
    return {"pk": made.pk}


def pool(w: World) -> dict:
    import datetime as dt

    from leads.models import RepPool

    made, _ = RepPool.objects.get_or_create(
        name="Matrix pool",
        defaults={
            "created_by": w.people["admin"],
            "created_at": dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
        },
    )
    return {"pk": made.pk}


def calendar(w: World) -> dict:
    return {"pk": w.calendar.pk}


def case(w: World) -> dict:
    return {"pk": w.case.pk}


def review(w: World) -> dict:
    return {"pk": w.review.pk}


def lead_import(w: World) -> dict:
    return {"pk": w.lead_import.pk}


def webhook(w: World) -> dict:
    return {"pk": w.webhook.pk}


def time_off(w: World) -> int:
    import datetime as dt

    from alignment.models import TimeOff

    rep = w.people["sales_rep"]
    day = dt.date(2099, 1, 4)
    entry, _ = TimeOff.objects.get_or_create(
        person=rep,
        first_day=day,
        last_day=day,
        defaults={"created_by": rep, "created_at": dt.datetime(2099, 1, 1, tzinfo=dt.UTC)},
    )
    return entry.pk


def revision_of(attribute: str) -> Callable[[World], dict]:
    return lambda w: {"revision": getattr(w, attribute).revision}


ALIGNMENT = {
    "home": row(GET=EVERYONE, POST=EVERYONE),
    "health": row(GET=PUBLIC, POST=NOT_OFFERED),
    "login": row(GET=PUBLIC, POST=PUBLIC),
    # Signing out lands on the sign-in page, for everyone.
    "logout": row(GET=NOT_OFFERED, POST=every("login", anonymous="login")),
    "notifications": row(GET=EVERYONE, POST=EVERYONE),
    "notification_bell": row(GET=EVERYONE, POST=EVERYONE),
    # One's own settings: everyone has them, and changes only their own.
    "profile": row(data=lambda w: {"time_zone": "Europe/Paris"}, GET=EVERYONE, POST=EVERYONE),
    "team": row(GET=only(*MANAGERS), POST=only(*MANAGERS)),
    "member_away": row(
        args=lambda w: {"user_id": w.people["sales_rep"].pk},
        data=lambda w: {"away": "1"},
        GET=NOT_OFFERED,
        # maya manages marketing, not ravi: the service refuses her (403).
        POST=only("sales_manager", "admin"),
    ),
    "member_routing": row(
        args=lambda w: {"user_id": w.people["sales_rep"].pk},
        data=lambda w: {"capacity": "5"},
        GET=NOT_OFFERED,
        POST=only("sales_manager", "admin"),
    ),
    # One's own time off; one's team's manager's; an admin's.
    "time_off": row(
        args=lambda w: {"user_id": w.people["sales_rep"].pk},
        GET=only("sales_rep", "sales_manager", "admin"),
        POST=only("sales_rep", "sales_manager", "admin"),
    ),
    # One's own working hours; one's team's manager's; an admin's.
    "working_hours": row(
        args=lambda w: {"user_id": w.people["sales_rep"].pk},
        data=lambda w: {"mon-start": "09:00", "mon-end": "17:00"},
        GET=only("sales_rep", "sales_manager", "admin"),
        POST=only("sales_rep", "sales_manager", "admin"),
    ),
    "time_off_cancel": row(
        args=lambda w: {"pk": time_off(w)},
        GET=NOT_OFFERED,
        POST=only("sales_rep", "sales_manager", "admin"),
    ),
    "api-schema": row(GET=EVERYONE, POST=API_NOT_OFFERED),
    # One's own tokens: everyone has a list; only the owner (ravi) revokes his.
    "tokens": row(data=lambda w: {"name": "script", "days": "30"}, GET=EVERYONE, POST=EVERYONE),
    "token_revoke": row(
        args=lambda w: {"pk": w.token.pk}, GET=only("sales_rep"), POST=only("sales_rep")
    ),
    "audit": row(GET=only("admin"), POST=NOT_OFFERED),
    # Webhooks: admins only (manage_organisation), pages and API alike.
    "webhooks": row(
        data=lambda w: {
            "name": "Hub",
            "url": "https://hub.example.test/",
            "kind": "webhook",
            "event_types": ["lead.accepted"],
        },
        GET=only("admin"),
        POST=only("admin"),
    ),  # fmt: skip
    "webhook": row(
        args=webhook,
        data=lambda w: {"name": "CRM", "url": w.webhook.url, "event_types": ["lead.accepted"]},
        GET=only("admin"),
        POST=only("admin"),
    ),
    "webhook_rotate": row(args=webhook, GET=only(admin="405"), POST=only("admin")),
    "webhook_delete": row(args=webhook, GET=only(admin="405"), POST=only("admin")),
    "webhook_redeliver": row(
        args=lambda w: {"pk": w.delivery.pk}, GET=only(admin="405"), POST=only("admin")
    ),
    "api-webhook-endpoint-list": row(
        data=lambda w: {
            "name": "Hub",
            "url": "https://hub.example.test/",
            "event_types": ["lead.accepted"],
        },
        GET=only("admin"),
        POST=only("admin"),
    ),  # fmt: skip
    "api-webhook-endpoint-detail": row(
        args=webhook,
        data=lambda w: {"name": "CRM 2"},
        GET=only("admin"),
        POST=only(admin="405"),
        PATCH=only("admin"),
        DELETE=only("admin"),
    ),
    "api-webhook-endpoint-rotate-secret": row(
        args=webhook, GET=only(admin="405"), POST=only("admin")
    ),
    "api-webhook-delivery-list": row(GET=only("admin"), POST=only(admin="405")),
    "api-webhook-delivery-redeliver": row(
        args=lambda w: {"pk": w.delivery.pk}, GET=only(admin="405"), POST=only("admin")
    ),
    "api-webhook-event-types": row(GET=only("admin"), POST=only(admin="405")),
}

GLOSSARY = {
    "glossary:index": row(GET=EVERYONE, POST=EVERYONE),
    "glossary:terms": row(GET=EVERYONE, POST=NOT_OFFERED),
    "glossary:term": row(args=lambda w: {"slug": w.term.slug}, GET=EVERYONE, POST=EVERYONE),
    "glossary:term_new": row(GET=only(*DRAFTERS), POST=only(*DRAFTERS)),
    "glossary:term_edit": row(
        args=lambda w: {"slug": w.term.slug}, GET=only(*DRAFTERS), POST=only(*DRAFTERS)
    ),
    "glossary:stage": row(args=lambda w: {"key": "mql"}, GET=EVERYONE, POST=EVERYONE),
    "glossary:draft_new": row(args=lambda w: {"key": "mql"}, GET=NOT_OFFERED, POST=only(*DRAFTERS)),
    "glossary:version": row(args=draft, GET=EVERYONE, POST=EVERYONE),
    "glossary:version_edit": row(args=draft, GET=only(*DRAFTERS), POST=only(*DRAFTERS)),
    "glossary:version_propose": row(
        args=draft, data=revision_of("draft"), GET=NOT_OFFERED, POST=only(*DRAFTERS)
    ),
    "glossary:version_discard": row(args=draft, GET=only(*DRAFTERS), POST=only(*DRAFTERS)),
    "glossary:version_sign": row(args=draft, GET=only(*MANAGERS), POST=only(*MANAGERS)),
    "glossary:version_send_back": row(
        args=draft, data=lambda w: {"comment": "No."}, GET=NOT_OFFERED, POST=only(*MANAGERS)
    ),
    "glossary:version_try": row(args=draft, GET=EVERYONE, POST=NOT_OFFERED),
    "glossary:rule_row": row(
        GET=only(*DRAFTERS), POST=only(*DRAFTERS, **dict.fromkeys(DRAFTERS, "405"))
    ),
    "glossary:rule_row_removed": row(GET=EVERYONE, POST=NOT_OFFERED),
    "glossary:diff": row(GET=EVERYONE, POST=NOT_OFFERED),
    "glossary:signatures": row(GET=only(*MANAGERS), POST=only(*MANAGERS)),
    "glossary:platform": row(GET=EVERYONE, POST=EVERYONE),
    "glossary:platform_new": row(GET=NOT_OFFERED, POST=only(*DRAFTERS)),
    "glossary:platform_version": row(args=platform_draft, GET=EVERYONE, POST=EVERYONE),
    "glossary:platform_edit": row(args=platform_draft, GET=only(*DRAFTERS), POST=only(*DRAFTERS)),
    "glossary:platform_propose": row(
        args=platform_draft,
        data=revision_of("platform_draft"),
        GET=NOT_OFFERED,
        POST=only(*DRAFTERS),
    ),
    "glossary:platform_discard": row(
        args=platform_draft, GET=only(*DRAFTERS), POST=only(*DRAFTERS)
    ),
    "glossary:platform_sign": row(args=platform_draft, GET=only(*MANAGERS), POST=only(*MANAGERS)),
    "glossary:platform_send_back": row(
        args=platform_draft,
        data=lambda w: {"comment": "No."},
        GET=NOT_OFFERED,
        POST=only(*MANAGERS),
    ),
    "glossary:signatures_panel": row(GET=EVERYONE, POST=EVERYONE),
}

LEADS = {
    "leads:list": row(GET=EVERYONE, POST=EVERYONE),
    "leads:inbox": row(
        GET=only("sales_rep", "other_rep", "sales_manager", "admin"),
        POST=only("sales_rep", "other_rep", "sales_manager", "admin"),
    ),
    "leads:inbox_summary": row(GET=EVERYONE, POST=EVERYONE),
    "leads:team_inbox": row(GET=only(*MANAGERS), POST=only(*MANAGERS)),
    # The review step of a bulk action (nothing confirmed): every manager may ask.
    "leads:team_bulk": row(
        data=lambda w: {"lead": w.lead.pk, "action": "return"},
        GET=NOT_OFFERED,
        POST=only(*MANAGERS),
    ),
    "leads:came_back": row(GET=only(*MARKETING), POST=only(*MARKETING)),
    # A sales team's manager sees its queue; an admin every queue (the marketing
    # manager manages no sales team).
    "leads:queue": row(GET=only(*REASSIGNERS), POST=only(*REASSIGNERS)),
    # Routing rules and "where would this lead go": an admin or a sales manager.
    "leads:routing": row(GET=only(*REASSIGNERS), POST=only(*REASSIGNERS)),
    "leads:routing_try": row(GET=only(*REASSIGNERS), POST=only(*REASSIGNERS)),
    # Pools of reps (a rule's other target): an admin or a sales manager.
    "leads:pools": row(GET=only(*REASSIGNERS), POST=NOT_OFFERED),
    "leads:pool_new": row(
        data=lambda w: {"name": "Matrix new pool"},
        GET=only(*REASSIGNERS),
        POST=only(*REASSIGNERS),
    ),
    "leads:pool_edit": row(
        args=pool,
        data=lambda w: {"name": "Matrix pool renamed"},
        GET=only(*REASSIGNERS),
        POST=only(*REASSIGNERS),
    ),
    "leads:pool_delete": row(args=pool, GET=only(*REASSIGNERS), POST=only(*REASSIGNERS)),
    # On a lead a rep holds: its manager is told it is no longer queued (409).
    "leads:assign": row(
        args=lead,
        data=lambda w: {"to": w.people["sales_rep"].pk},
        GET=NOT_OFFERED,
        POST=only(*REASSIGNERS),
    ),
    "leads:definition_preview": row(
        args=lambda w: {"version_id": w.draft.pk}, GET=only(*DRAFTERS), POST=only(*DRAFTERS)
    ),
    # Another team's rep does not learn that the lead exists.
    "leads:detail": row(
        args=lead, GET=EVERYONE | {"other_rep": "hidden"}, POST=EVERYONE | {"other_rep": "hidden"}
    ),
    "leads:accept": row(args=lead, GET=NOT_OFFERED, POST=only(*WORKERS)),
    "leads:reject": row(
        args=lead, data=lambda w: {"reason": w.reason.code}, GET=NOT_OFFERED, POST=only(*WORKERS)
    ),
    "leads:touch": row(
        args=lead,
        data=lambda w: {"kind": "call", "outcome": "connected"},
        GET=NOT_OFFERED,
        POST=only(*WORKERS),
    ),
    "leads:qualify": row(args=lead, GET=NOT_OFFERED, POST=only(*WORKERS)),
    "leads:convert": row(args=lead, GET=NOT_OFFERED, POST=only(*WORKERS)),
    "leads:close": row(
        args=lead, data=lambda w: {"outcome": "lost"}, GET=NOT_OFFERED, POST=only(*WORKERS)
    ),
    "leads:reassign": row(
        args=lead,
        data=lambda w: {
            "to": w.people["sales_rep"]
            .team.members.exclude(pk=w.people["sales_rep"].pk)
            .filter(groups__name="Sales rep")
            .first()
            .pk
        },
        GET=NOT_OFFERED,
        POST=only(*REASSIGNERS),
    ),
    "leads:dispute": row(
        args=rejected,
        data=lambda w: {"reason": "It fits."},
        GET=NOT_OFFERED,
        POST=only(*MARKETING),
    ),
    "leads:recycle": row(args=rejected, GET=NOT_OFFERED, POST=only(*MARKETING)),
    # Merging a duplicate into another lead: marketing (and an admin), page and API.
    "leads:merge": row(
        args=lead,
        data=lambda w: {"into": w.rejected.pk},
        GET=only(*MARKETING),
        POST=only(*MARKETING),
    ),
    "leads:import": row(GET=only(*MARKETING), POST=only(*MARKETING)),
    "leads:campaigns": row(GET=EVERYONE, POST=NOT_OFFERED | {"anonymous": SIGN_IN}),
    "leads:campaign_new": row(GET=only(*MARKETING), POST=only(*MARKETING)),
    "leads:campaign_edit": row(args=campaign, GET=only(*MARKETING), POST=only(*MARKETING)),
    "sla:campaign_calendar": row(GET=EVERYONE, POST=NOT_OFFERED | {"anonymous": SIGN_IN}),
    "leads:import_detail": row(args=lead_import, GET=only(*MARKETING), POST=only(*MARKETING)),
    "leads:import_progress": row(
        args=lead_import,
        GET=only(*MARKETING),
        POST=only(*MARKETING, **dict.fromkeys(MARKETING, "405")),
    ),
    "leads:import_report_csv": row(
        args=lead_import,
        GET=only(*MARKETING),
        POST=only(*MARKETING, **dict.fromkeys(MARKETING, "405")),
    ),
    "leads:report_panel": row(
        args=lambda w: {"name": "funnel"}, GET=only(*DASHBOARDS), POST=only(*DASHBOARDS)
    ),
}

SLA = {
    "sla:arbiter_queue": row(GET=only("arbiter", "admin"), POST=only("arbiter", "admin")),
    "sla:arbiter_panel": row(GET=only("arbiter", "admin"), POST=only("arbiter", "admin")),
    "sla:case_detail": row(args=case, GET=only("arbiter", "admin"), POST=only("arbiter", "admin")),
    "sla:case_decide": row(
        args=case,
        data=lambda w: {"decision": "uphold", "reason": "Fits."},
        GET=NOT_OFFERED,
        POST=only("arbiter", "admin"),
    ),
    # Pausing a lead's deadlines: its rep and their manager (the machine's rule); the page
    # says why not when the lead cannot be paused now (ravi's lead is an MQL: a 409 on POST).
    "sla:lead_pause": row(
        args=lambda w: {"lead_id": w.lead.pk},
        data=lambda w: {"condition": "1", "note": "Waiting."},
        GET=only(*WORKERS, other_rep="hidden"),
        POST=only(*WORKERS, other_rep="hidden"),
    ),
    "sla:lead_clocks": row(
        args=lambda w: {"lead_id": w.lead.pk},
        GET=EVERYONE | {"other_rep": "hidden"},
        POST=EVERYONE | {"other_rep": "hidden"},
    ),
    "sla:calendars": row(GET=EVERYONE, POST=EVERYONE),
    "sla:calendar_create": row(GET=only("admin"), POST=only("admin")),
    "sla:calendar_detail": row(args=calendar, GET=EVERYONE, POST=EVERYONE),
    "sla:calendar_edit": row(args=calendar, GET=only("admin"), POST=only("admin")),
    "sla:calendar_week": row(
        args=calendar, GET=NOT_OFFERED | {"anonymous": SIGN_IN}, POST=only("admin")
    ),
    "sla:closure_add": row(
        args=calendar, GET=NOT_OFFERED | {"anonymous": SIGN_IN}, POST=only("admin")
    ),
    "sla:closure_remove": row(
        args=lambda w: {"pk": w.calendar.pk, "closure_pk": w.closure.pk},
        GET=only("admin"),
        POST=only("admin"),
    ),
    "sla:agreements": row(GET=EVERYONE, POST=EVERYONE),
    "sla:agreement_new": row(GET=NOT_OFFERED, POST=only(*AGREEMENT_DRAFTERS)),
    "sla:agreement_diff": row(GET=EVERYONE, POST=NOT_OFFERED | {"anonymous": SIGN_IN}),
    "sla:agreement_history": row(GET=EVERYONE, POST=EVERYONE),
    "sla:signatures": row(GET=only(*MANAGERS), POST=only(*MANAGERS)),
    "sla:signatures_panel": row(GET=EVERYONE, POST=EVERYONE),
    "sla:agreement_goal_row": row(
        GET=only(*AGREEMENT_DRAFTERS),
        POST=only(*AGREEMENT_DRAFTERS, **dict.fromkeys(AGREEMENT_DRAFTERS, "405")),
    ),
    "sla:agreement_goal_row_removed": row(GET=EVERYONE, POST=NOT_OFFERED | {"anonymous": SIGN_IN}),
    "sla:agreement_detail": row(args=agreement_draft, GET=EVERYONE, POST=EVERYONE),
    "sla:agreement_edit": row(
        args=agreement_draft, GET=only(*AGREEMENT_DRAFTERS), POST=only(*AGREEMENT_DRAFTERS)
    ),
    "sla:agreement_propose": row(
        args=agreement_draft,
        data=revision_of("agreement_draft"),
        GET=NOT_OFFERED,
        POST=only(*AGREEMENT_DRAFTERS),
    ),
    "sla:agreement_discard": row(
        args=agreement_draft, GET=only(*AGREEMENT_DRAFTERS), POST=only(*AGREEMENT_DRAFTERS)
    ),
    "sla:agreement_sign": row(args=agreement_draft, GET=only(*MANAGERS), POST=only(*MANAGERS)),
    "sla:agreement_whatif": row(
        args=agreement_draft, GET=only(*AGREEMENT_DRAFTERS), POST=only(*AGREEMENT_DRAFTERS)
    ),
    "sla:agreement_send_back": row(
        args=agreement_draft,
        data=lambda w: {"comment": "No."},
        GET=NOT_OFFERED,
        POST=only(*MANAGERS),
    ),
    "sla:dashboard": row(GET=only(*DASHBOARDS), POST=only(*DASHBOARDS)),
    "sla:panel": row(
        args=lambda w: {"name": "breaches"}, GET=only(*DASHBOARDS), POST=only(*DASHBOARDS)
    ),
    "sla:breaches_panel": row(GET=only(*DASHBOARDS), POST=only(*DASHBOARDS)),
    "sla:commitment_panel": row(GET=only(*DASHBOARDS), POST=only(*DASHBOARDS)),
    "sla:revenue_target": row(GET=only(*MANAGERS), POST=only(*MANAGERS)),
    # Saved dashboard views: anyone who sees dashboards saves their own; only the
    # owner (sam) deletes his.
    "sla:saved_view_save": row(
        data=lambda w: {"name": "Mine"}, GET=NOT_OFFERED, POST=only(*DASHBOARDS)
    ),
    "sla:saved_view_delete": row(
        args=lambda w: {"pk": sams_view(w)}, GET=NOT_OFFERED, POST=only("sales_manager")
    ),
    "sla:reviews": row(GET=only(*DASHBOARDS), POST=only(*DASHBOARDS)),
    "sla:review_detail": row(args=review, GET=only(*DASHBOARDS), POST=only(*DASHBOARDS)),
    # POST-only views that answer a GET with 404 rather than 405.
    "sla:review_decision": row(
        args=review,
        GET=only(*DASHBOARDS, **dict.fromkeys(DASHBOARDS, "hidden")),
        POST=only(*DASHBOARDS),
    ),
    "sla:review_action": row(
        args=review,
        GET=only(*DASHBOARDS, **dict.fromkeys(DASHBOARDS, "hidden")),
        POST=only(*DASHBOARDS),
    ),
    "sla:review_action_status": row(
        args=lambda w: {"pk": w.review.pk, "action_pk": w.review_action.pk},
        GET=only(*DASHBOARDS, **dict.fromkeys(DASHBOARDS, "hidden")),
        POST=only(*DASHBOARDS),
    ),
    "sla:review_close": row(
        args=review,
        GET=only(*DASHBOARDS, **dict.fromkeys(DASHBOARDS, "hidden")),
        POST=only(*DASHBOARDS),
    ),
}

API = {
    "api-leads": row(GET=EVERYONE, POST=only(*MARKETING)),
    "api-leads-bulk": row(
        GET=only(*MARKETING, **dict.fromkeys(MARKETING, "405")), POST=only(*MARKETING)
    ),
    "api-leads-queue": row(GET=only(*REASSIGNERS), POST=API_NOT_OFFERED),
    "api-routing-rules": row(GET=only(*REASSIGNERS), POST=only(*REASSIGNERS)),
    "api-routing-pools": row(
        data=lambda w: {"name": "API pool", "members": []},
        GET=only(*REASSIGNERS),
        POST=only(*REASSIGNERS),
    ),
    "api-routing-pool": row(
        args=pool,
        data=lambda w: {"name": "API pool renamed", "members": []},
        GET=only(*REASSIGNERS),
        POST=API_NOT_OFFERED,
        PUT=only(*REASSIGNERS),
        DELETE=only(*REASSIGNERS),
    ),
    "api-routing-explain": row(
        data=lambda w: {"fields": {"country": "Germany"}},
        GET=API_NOT_OFFERED,
        POST=only(*REASSIGNERS),
    ),
    "api-lead-assign": row(
        args=lead,
        data=lambda w: {"to": w.people["sales_rep"].pk},
        GET=API_NOT_OFFERED,
        POST=only(*REASSIGNERS),
    ),
    "api-lead": row(args=lead, GET=EVERYONE | {"other_rep": "hidden"}, POST=API_NOT_OFFERED),
    "api-lead-accept": row(args=lead, GET=API_NOT_OFFERED, POST=only(*WORKERS)),
    "api-lead-reject": row(
        args=lead,
        data=lambda w: {"reason": w.reason.code},
        GET=API_NOT_OFFERED,
        POST=only(*WORKERS),
    ),
    "api-lead-touches": row(
        args=lead,
        data=lambda w: {"kind": "call", "outcome": "connected"},
        GET=API_NOT_OFFERED,
        POST=only(*WORKERS),
    ),
    "api-lead-qualify": row(args=lead, GET=API_NOT_OFFERED, POST=only(*WORKERS)),
    "api-lead-convert": row(args=lead, GET=API_NOT_OFFERED, POST=only(*WORKERS)),
    "api-lead-close": row(
        args=lead, data=lambda w: {"outcome": "lost"}, GET=API_NOT_OFFERED, POST=only(*WORKERS)
    ),
    "api-lead-reassign": row(
        args=lead,
        data=lambda w: {
            "to": w.people["sales_rep"]
            .team.members.exclude(pk=w.people["sales_rep"].pk)
            .filter(groups__name="Sales rep")
            .first()
            .pk
        },
        GET=API_NOT_OFFERED,
        POST=only(*REASSIGNERS),
    ),
    "api-lead-dispute": row(
        args=rejected,
        data=lambda w: {"reason": "It fits."},
        GET=API_NOT_OFFERED,
        POST=only(*MARKETING),
    ),
    "api-lead-merge": row(
        args=lead,
        data=lambda w: {"into": w.rejected.pk},
        GET=API_NOT_OFFERED,
        POST=only(*MARKETING),
    ),
    "api-report-funnel": row(
        GET=only(*DASHBOARDS), POST=only(*DASHBOARDS, **dict.fromkeys(DASHBOARDS, "405"))
    ),
    "api-report-handoff": row(
        GET=only(*DASHBOARDS), POST=only(*DASHBOARDS, **dict.fromkeys(DASHBOARDS, "405"))
    ),
    "api-report-scoring": row(
        GET=only(*DASHBOARDS), POST=only(*DASHBOARDS, **dict.fromkeys(DASHBOARDS, "405"))
    ),
    "glossary-stage-list": row(GET=EVERYONE, POST=API_NOT_OFFERED),
    "glossary-stage-detail": row(args=lambda w: {"key": "mql"}, GET=EVERYONE, POST=API_NOT_OFFERED),
    "glossary-term-list": row(GET=EVERYONE, POST=API_NOT_OFFERED),
    "glossary-term-detail": row(
        args=lambda w: {"slug": w.term.slug}, GET=EVERYONE, POST=API_NOT_OFFERED
    ),
    "glossary-reason-list": row(GET=EVERYONE, POST=API_NOT_OFFERED),
    "glossary-reason-detail": row(
        args=lambda w: {"code": w.reason.code}, GET=EVERYONE, POST=API_NOT_OFFERED
    ),
    "glossary-definition-list": row(
        data=lambda w: {"stage": "mql"}, GET=EVERYONE, POST=only(*DRAFTERS)
    ),
    "glossary-definition-detail": row(args=draft, GET=EVERYONE, POST=API_NOT_OFFERED),
    "glossary-definition-propose": row(
        args=draft, data=revision_of("draft"), GET=API_NOT_OFFERED, POST=only(*DRAFTERS)
    ),
    "glossary-definition-sign": row(
        args=draft, data=revision_of("draft"), GET=API_NOT_OFFERED, POST=only(*MANAGERS)
    ),
    "glossary-definition-send-back": row(
        args=draft, data=lambda w: {"comment": "No."}, GET=API_NOT_OFFERED, POST=only(*MANAGERS)
    ),
    "glossary-platform-list": row(GET=EVERYONE, POST=only(*DRAFTERS)),
    "glossary-platform-detail": row(args=platform_draft, GET=EVERYONE, POST=API_NOT_OFFERED),
    "glossary-platform-propose": row(
        args=platform_draft,
        data=revision_of("platform_draft"),
        GET=API_NOT_OFFERED,
        POST=only(*DRAFTERS),
    ),
    "glossary-platform-sign": row(
        args=platform_draft,
        data=revision_of("platform_draft"),
        GET=API_NOT_OFFERED,
        POST=only(*MANAGERS),
    ),
    "glossary-platform-send-back": row(
        args=platform_draft,
        data=lambda w: {"comment": "No."},
        GET=API_NOT_OFFERED,
        POST=only(*MANAGERS),
    ),
    "api-sla-agreement-list": row(GET=EVERYONE, POST=only(*AGREEMENT_DRAFTERS)),
    "api-sla-agreement-detail": row(args=agreement_draft, GET=EVERYONE, POST=API_NOT_OFFERED),
    # GET: 404 until asked for (the matrix counts it "hidden" for those who may).
    "api-sla-agreement-whatif": row(
        args=agreement_draft,
        GET=only(*AGREEMENT_DRAFTERS, **dict.fromkeys(AGREEMENT_DRAFTERS, "hidden")),
        POST=only(*AGREEMENT_DRAFTERS),
    ),
    "api-sla-agreement-propose": row(
        args=agreement_draft,
        data=revision_of("agreement_draft"),
        GET=API_NOT_OFFERED,
        POST=only(*AGREEMENT_DRAFTERS),
    ),
    "api-sla-agreement-sign": row(
        args=agreement_draft,
        data=revision_of("agreement_draft"),
        GET=API_NOT_OFFERED,
        POST=only(*MANAGERS),
    ),
    "api-sla-agreement-send-back": row(
        args=agreement_draft,
        data=lambda w: {"comment": "No."},
        GET=API_NOT_OFFERED,
        POST=only(*MANAGERS),
    ),
    "api-sla-calendar-list": row(GET=EVERYONE, POST=API_NOT_OFFERED),
    "api-sla-calendar-detail": row(args=calendar, GET=EVERYONE, POST=API_NOT_OFFERED),
    "api-sla-lead-clocks": row(
        args=lambda w: {"lead_id": w.lead.pk},
        GET=EVERYONE | {"other_rep": "hidden"},
        POST=API_NOT_OFFERED,
    ),
    "api-sla-lead-pause": row(
        args=lead,
        data=lambda w: {"condition": 1, "note": "Waiting."},
        GET=EVERYONE | {"other_rep": "hidden"},
        POST=only(*WORKERS, other_rep="hidden"),
    ),
    # Reps see their own breaches; marketers have no say over sales' clocks.
    "api-sla-breaches": row(GET=only(*DASHBOARDS, "sales_rep", "other_rep"), POST=API_NOT_OFFERED),
    "api-sla-cases": row(
        GET=only(*DASHBOARDS), POST=only(*DASHBOARDS, **dict.fromkeys(DASHBOARDS, "405"))
    ),
    "api-sla-case-decide": row(
        args=case,
        data=lambda w: {"decision": "uphold", "reason": "Fits."},
        GET=only("arbiter", "admin", arbiter="405", admin="405"),
        POST=only("arbiter", "admin"),
    ),
    **{
        f"api-sla-dashboard-{name}": row(
            GET=only(*DASHBOARDS), POST=only(*DASHBOARDS, **dict.fromkeys(DASHBOARDS, "405"))
        )
        for name in (
            "breaches",
            "open",
            "speed",
            "attainment",
            "followup",
            "decisions",
            "commitment",
            "revenue",
        )
    },
}

# Django's admin guards every one of its URLs in one place (AdminSite.admin_view);
# the matrix samples its index and each model's list, and requires every admin
# pattern to fall under this rule.
ADMIN_RULE = only(
    "admin", **{role: "login" for role in SIGNED_IN if role != "admin"}, anonymous="login"
)

TABLE: dict[str, Row] = {**ALIGNMENT, **GLOSSARY, **LEADS, **SLA, **API}

# (url name, method, role) whose outcome today differs from the table because of a
# defect another branch is fixing. Strict: once fixed, the entry must go.
KNOWN_DEFECTS: dict[tuple[str, str, str], str] = {}


def classify(response) -> str:
    code = response.status_code
    if code >= 500:
        return f"{code}!"
    if code in (401, 403):
        return "deny"
    if code in (301, 302):
        location = response["Location"]
        if location.startswith((reverse(settings.LOGIN_URL), reverse("admin:login"))):
            return "login"
    if code == 404:
        return "hidden"
    if code == 405:
        return "405"
    return "ok"


def _expected(outcome: str, url: str) -> set[str]:
    sign_in = "deny" if url.startswith("/api/") else "login"
    return {sign_in if o == SIGN_IN else o for o in outcome.split("|")}


def test_every_url_pattern_is_in_the_table():
    names = {p.name for p in patterns()}
    missing = sorted(n for n in names - set(TABLE) if not n.startswith("admin:"))
    stale = sorted(set(TABLE) - names)
    assert not missing, f"URLs with no decision of who may use them: {missing}"
    assert not stale, f"Rows for URLs that no longer exist: {stale}"


def _request(client: Client, method: str, url: str, data: dict) -> Any:
    sid = transaction.savepoint()
    cookies = client.cookies  # signing out replaces the session cookie
    client.cookies = cookies.__class__(cookies)
    try:
        if url.startswith("/api/"):
            return client.generic(
                method, url, json.dumps(data) if data else "", content_type="application/json"
            )
        return getattr(client, method.lower())(url, data) if data else client.generic(method, url)
    finally:
        transaction.savepoint_rollback(sid)
        client.cookies = cookies


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_says(world, role):
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(world.person(role))
    wrong, fixed = [], []
    for name, entry in TABLE.items():
        url = reverse(name, kwargs=entry.args(world))
        methods = dict(entry.methods)
        # A method the row does not list must not be served, for anyone.
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            methods.setdefault(method, None)
        for method, expected_by_role in methods.items():
            got = classify(_request(client, method, url, entry.data(world)))
            if expected_by_role is None:
                if got == "ok":
                    wrong.append(
                        f"{method} {url} ({name}): served, but the table offers no {method}"
                    )
                continue
            expected = _expected(expected_by_role[role], url)
            defect = KNOWN_DEFECTS.get((name, method, role))
            if defect and got not in expected:
                continue
            if defect:
                fixed.append(f"{name} {method} {role} ({defect})")
            elif got not in expected:
                wrong.append(f"{method} {url} ({name}): expected {'|'.join(expected)}, got {got}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
    assert not fixed, "Fixed now; remove from KNOWN_DEFECTS:\n" + "\n".join(fixed)


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_site_is_for_admins_only(world, role):
    from django.contrib import admin

    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(world.person(role))
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    expected = ADMIN_RULE[role]
    wrong = [f"{url}: {got}" for url in urls if (got := classify(client.get(url))) != expected]
    assert not wrong, f"{role} expected {expected}:\n" + "\n".join(wrong)
