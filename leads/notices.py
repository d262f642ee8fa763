"""Who is told what about a lead: the rep a lead is handed to, and marketing when sales
rejects or returns one (a listener of the leads machine, in the same transaction;
alignment.notifications sends the emails after commit, within each person's
preference: each, a daily digest, or none). One notification per event per person:
the key names the event."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from alignment.models import Side, User
from alignment.notifications import Notice, notify_many
from leads.models import LeadEvent
from leads.stages import Action

PLACEHOLDER = 987654321


def _lead_url() -> str:
    # Reversed once per batch (a bulk ingest hands off a thousand leads).
    return reverse("leads:detail", args=[PLACEHOLDER]).replace(str(PLACEHOLDER), "{}")


def _marketing(campaign_owner_id: int | None) -> list[User]:
    """Marketing's people for a lead sales sent back: the managers of the marketing
    teams, and the owner of the lead's campaign."""
    return list(
        User.objects.filter(
            Q(managed_teams__side=Side.MARKETING) | Q(pk=campaign_owner_id or 0), is_active=True
        ).distinct()
    )


def on_lead_events(events: list[LeadEvent]) -> None:
    notices: list[Notice] = []
    url = None
    for event in events:
        lead = event.lead
        given = event.kind == Action.HAND_OFF or (
            event.kind == Action.REASSIGN and lead.owner_id is not None
        )
        if not given and event.kind not in (Action.REJECT, Action.RETURN):
            continue
        url = url or _lead_url()
        if given:
            score = f"score {lead.score}" if lead.score is not None else "not scored"
            notices.append(
                Notice(
                    recipients=[lead.owner],
                    key=f"lead-event:{event.pk}:assigned",
                    kind="lead_assigned",
                    title=f"New lead for you: {lead}",
                    body=f"{lead.company or lead.email} ({score}). Accept or reject it in "
                    "your inbox before its deadline. " + event.data.get("why", ""),
                    url=url.format(lead.pk),
                )
            )
        else:
            what = "rejected" if event.kind == Action.REJECT else "returned to marketing"
            notices.append(
                Notice(
                    recipients=_marketing(getattr(lead.campaign, "owner_id", None)),
                    key=f"lead-event:{event.pk}:sent_back",
                    kind="lead_sent_back",
                    title=f"Sales {what}: {lead}",
                    body=" ".join(
                        part
                        for part in (
                            f"By {event.actor or 'the system'}.",
                            event.data.get("reason_label", ""),
                            event.data.get("note", ""),
                        )
                        if part
                    ),
                    url=url.format(lead.pk),
                )
            )
    if notices:
        notify_many(notices=notices)
