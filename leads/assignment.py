"""Who takes a lead: the team that covers its country, and a rep of that team by
weighted round-robin (on shift, not away, under capacity)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from alignment.models import User
from alignment.roles import ROLE_NAMES, Role
from leads import machine
from leads.models import Lead, LeadEvent, RoundRobinCursor, Territory
from leads.stages import OPEN_STAGES, Action


def _reps(team_ids) -> QuerySet[User]:
    return User.objects.filter(
        team_id__in=team_ids, is_active=True, groups__name=ROLE_NAMES[Role.SALES_REP]
    )


def team_reps(team_id: int | None) -> QuerySet[User]:
    """The active sales reps of a team: who may be given its leads, by round-robin
    or by a manager's (or the arbiter's) reassignment."""
    return _reps([team_id]) if team_id else User.objects.none()


class Assigner:
    """Round-robin within the team that covers a lead's country.

    For one request (one lead or a bulk of a thousand) it locks each team's
    cursor once, reads the eligible reps and their open-lead counts once, and
    rotates in memory. Two requests assigning at once queue on the cursor lock,
    so neither skips a rep by accident; `lock_teams` takes the cursors of a
    whole batch in team order, so two batches never wait for each other in a
    circle.
    """

    def __init__(self) -> None:
        self._territories: dict[str, int] | None = None
        self._teams: dict[int, dict[str, Any]] = {}

    def team_for(self, country: str) -> int | None:
        if self._territories is None:
            self._territories = {
                c.lower(): t for c, t in Territory.objects.values_list("country", "team_id")
            }
        return self._territories.get((country or "").strip().lower(), self._territories.get("*"))

    def lock_teams(self, team_ids: set[int]) -> None:
        wanted = sorted(t for t in team_ids if t not in self._teams)
        if not wanted:
            return
        RoundRobinCursor.objects.bulk_create(
            [RoundRobinCursor(team_id=t) for t in wanted], ignore_conflicts=True
        )
        # The cursors first, in team order: the open-lead counts read next are
        # then the ones no concurrent assignment can change until we commit.
        cursors = list(
            RoundRobinCursor.objects.select_for_update()
            .filter(team_id__in=wanted)
            .order_by("team_id")
        )
        reps: dict[int, list[User]] = {t: [] for t in wanted}
        eligible = (
            _reps(wanted)
            .filter(is_away=False)
            .annotate(open_leads=Count("owned_leads", filter=Q(owned_leads__stage__in=OPEN_STAGES)))
            .order_by("pk")
        )
        for rep in eligible:
            reps[rep.team_id].append(rep)
        for cursor in cursors:
            self._teams[cursor.team_id] = {
                "cursor": cursor,
                "reps": reps[cursor.team_id],
                "dirty": False,
            }

    def next_rep(self, team_id: int) -> User | None:
        self.lock_teams({team_id})
        state = self._teams[team_id]
        reps = [r for r in state["reps"] if r.open_leads < r.capacity]
        if not reps:
            return None
        last = state["cursor"].last_user_id or 0
        rep = next((r for r in reps if r.pk > last), reps[0])
        rep.open_leads += 1
        state["cursor"].last_user_id = rep.pk
        state["dirty"] = True
        return rep

    def hand_off_changes(self, lead: Lead, now: datetime) -> dict[str, Any] | None:
        """The team and rep for a lead, or None when no territory covers it.
        The owner is None when nobody of the team can take it now."""
        team_id = self.team_for(lead.country)
        if team_id is None:
            return None
        rep = self.next_rep(team_id)
        return {"team_id": team_id, "owner": rep, "handed_off_at": now if rep else None}

    def save(self) -> None:
        for state in self._teams.values():
            if state["dirty"]:
                state["cursor"].save(update_fields=["last_user"])
                state["dirty"] = False


def hand_off_data(changes: dict[str, Any]) -> dict[str, Any]:
    """The `handed_off` event's data: to whom, in which team."""
    owner = changes["owner"]
    return {"to": owner.pk, "to_name": str(owner), "team": changes["team_id"]}


def lead_hand_off(*, lead: Lead, now: datetime, by: User | None = None) -> LeadEvent | None:
    """Give an MQL to the next rep of the team covering it. None if nobody can take it."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        assigner = Assigner()
        changes = assigner.hand_off_changes(lead, now)
        if changes is None or changes["owner"] is None:
            if changes is not None and lead.team_id != changes["team_id"]:
                # Queued in its team's inbox until someone can take it.
                Lead.objects.filter(pk=lead.pk).update(team_id=changes["team_id"])
            return None
        event = machine.transition(
            lead=lead,
            action=Action.HAND_OFF,
            by=by,
            now=now,
            changes=changes,
            locked=True,
            data=hand_off_data(changes),
        )
        assigner.save()
        return event
