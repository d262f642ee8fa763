"""Who takes a lead: the team or pool of the first routing rule it matches
(leads.routing), and a rep of it by weighted round-robin (not away, not on time off,
under capacity, and on shift when the rule asks for it); or,
when nobody can take it
now, its team's queue (the organisation's, with no team), where it waits under
an assignment clock and is given to the first rep who can take it, oldest
first (`queue_drain`).

A rep's capacity counts the new leads they hold (handed to them, not yet
accepted or rejected): accepting, rejecting or passing one on frees room.

Weighted and fair across restarts and vacations (stride scheduling): each rep
keeps a pass (`User.routing_pass`) that grows by 1/weight with each lead, and
each team's cursor the pass of the last lead given (`virtual_time`); the next
lead goes to the eligible rep with the lowest pass, a pass never counting as
lower than the cursor's. A rep at weight 2 gets twice the leads of a rep at
weight 1; a rep back from a week away starts level with the others (not owed a
week of leads, and not put at the back of the round); a restart changes nothing
because both numbers are rows. A pool keeps its own cursor (RepPool.virtual_time);
a rep's pass is one number, so leads from a pool and from their team count alike.

A lead for a pool nobody of can take now waits in the organisation's queue (it
has no team yet) under its assignment clock; each drain routes it again and gives
it to the pool's next rep who can take it. A rule "only reps on shift" holds its
leads in the queue until a shift starts: the beat's minute sweep drains them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from alignment import clock, working_hours
from alignment.bulk import update_rows
from alignment.models import TimeOff, User
from alignment.roles import ROLE_NAMES, Role, perm
from leads import machine, rollups
from leads.accounts import sticky_for_email, sticky_of
from leads.models import Lead, LeadEvent, RepPool, RoundRobinCursor
from leads.routing import Rule, first_match, lead_fields, lead_view, rules_in_force
from leads.stages import Action, Stage

log = logging.getLogger(__name__)
# The actions after which a rep may have room for a queued lead (their new lead
# was accepted, rejected, closed by the arbiter, given to someone else or returned).
FREES_ROOM = (
    Action.ACCEPT,
    Action.REJECT,
    Action.CLOSE,
    Action.REASSIGN,
    Action.RETURN,
    Action.MERGE,
)
DRAIN_BATCH = 500


def _reps_of(people: QuerySet[User]) -> QuerySet[User]:
    return people.filter(is_active=True, groups__name=ROLE_NAMES[Role.SALES_REP])


def _reps(team_ids) -> QuerySet[User]:
    return _reps_of(User.objects.filter(team_id__in=team_ids))


def team_reps(team_id: int | None) -> QuerySet[User]:
    """The active sales reps of a team: who may be given its leads, by round-robin
    or by a manager's (or the arbiter's) reassignment."""
    return _reps([team_id]) if team_id else User.objects.none()


def _with_new_leads(reps: QuerySet[User]) -> QuerySet[User]:
    """Each rep with `new_leads`: the leads handed to them they have not accepted or
    rejected (on PostgreSQL, up to their capacity: see _new_leads); and `off_until`: the
    last day of time off they are on today, if any."""
    today = clock.now().date()
    off = TimeOff.objects.filter(
        person=OuterRef("pk"), first_day__lte=today, last_day__gte=today
    ).order_by("-last_day")
    return reps.annotate(new_leads=_new_leads(), off_until=Subquery(off.values("last_day")[:1]))


# On PostgreSQL, counted up to the rep's capacity and no further (all routing asks is
# whether they have room): at most `capacity` entries of the index on (owner, stage) a
# rep, however many new leads a manager handed them beyond it. Counting them all read
# every one (440 ms a bulk ingest for 13 reps holding some 900 each, against 4 ms).
# A rep over capacity shows as exactly at it. SQLite's LIMIT cannot name a column.
_NEW_LEADS_UP_TO_CAPACITY = (
    "SELECT count(*) FROM (SELECT 1 FROM leads_lead held "
    'WHERE held.owner_id = "alignment_user"."id" AND held.stage = %s '
    'LIMIT "alignment_user"."capacity") AS held'
)


def _new_leads():
    if connection.vendor == "postgresql":
        # A constant statement, its value a parameter.
        return RawSQL(_NEW_LEADS_UP_TO_CAPACITY, (Stage.MQL,), output_field=IntegerField())  # noqa: S611
    new = (
        Lead.objects.filter(owner=OuterRef("pk"), stage=Stage.MQL)
        .order_by()
        .values("owner")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(new), 0)


def queue(team_id: int | None) -> QuerySet[Lead]:
    """A team's queue (None: the organisation's): the MQLs nobody holds, oldest first."""
    return Lead.objects.filter(stage=Stage.MQL, owner__isnull=True, team_id=team_id).order_by(
        "queued_at", "id"
    )


Key = int | tuple[str, int]  # a team's id, or ("pool", a pool's id)


def _kind(key: Key) -> str:
    return "pool" if isinstance(key, tuple) else "team"


@dataclass
class _Team:
    cursor: RoundRobinCursor | RepPool
    reps: list[User]
    skipped: dict[str, str] = field(default_factory=dict)  # rep name: why not
    dirty: bool = False


class Assigner:
    """Weighted round-robin within the team that covers a lead's country.

    For one request (one lead or a bulk of a thousand) it locks each team's
    cursor once, reads the eligible reps and their new-lead counts once, and
    rotates in memory. Two requests assigning at once queue on the cursor lock,
    so neither skips a rep by accident; `lock_teams` takes the cursors of a
    whole batch in team order, so two batches never wait for each other in a
    circle.
    """

    def __init__(self, rules: list[Rule] | None = None, *, lock: bool = True) -> None:
        # lock=False: a dry run ("where would this lead go?"): nothing locked or saved.
        self._rules = rules
        self._lock = lock
        self._now = clock.now()
        self._teams: dict[Key, _Team] = {}
        self._passes: dict[int, User] = {}
        # One object per rep, whichever team or pool read them first: a rep in a pool
        # and a team counts each lead given once, in both rotations.
        self._seen: dict[int, User] = {}

    def rule(self, lead: Lead) -> Rule | None:
        """The first rule the lead matches, kept on the lead for the explanation."""
        if self._rules is None:
            self._rules = rules_in_force()[1]
        if not hasattr(lead, "_routing_rule"):
            lead._routing_rule = first_match(self._rules, lead_fields(lead), lead.attributes or {})
        return lead._routing_rule

    def route(self, lead: Lead) -> int | None:
        """The team of the first rule the lead matches (None: no rule covers it, or its
        rule sends to a pool, whose rep's team the lead joins when given)."""
        rule = self.rule(lead)
        return rule.team_id if rule else None

    def target(self, lead: Lead) -> Key | None:
        """Whose round robin gives this lead: its team's (set already, or its rule's),
        or its rule's pool's."""
        if lead.team_id:
            return lead.team_id
        rule = self.rule(lead)
        return rule.target if rule else None

    def lock_teams(self, keys: set[Key]) -> None:
        """Lock the cursors of these teams and pools (teams first, each in id order) and
        read their reps."""
        wanted = sorted(k for k in keys if k and not isinstance(k, tuple) and k not in self._teams)
        pools = sorted(k[1] for k in keys if isinstance(k, tuple) and k not in self._teams)
        if wanted:
            self._load(self._team_cursors(wanted), _reps(wanted), lambda rep: rep.team_id)
        for pool in self._pool_cursors(pools):
            members = _reps_of(User.objects.filter(rep_pools=pool))
            self._load({("pool", pool.pk): pool}, members, lambda rep, k=("pool", pool.pk): k)

    def _team_cursors(self, wanted: list[int]) -> dict[Key, RoundRobinCursor]:
        if self._lock:
            RoundRobinCursor.objects.bulk_create(
                [RoundRobinCursor(team_id=t) for t in wanted], ignore_conflicts=True
            )
            # The cursors first, in team order: the counts read next are then the
            # ones no concurrent assignment can change until we commit.
            cursors = list(
                RoundRobinCursor.objects.select_for_update()
                .filter(team_id__in=wanted)
                .order_by("team_id")
            )
        else:
            found = {c.team_id: c for c in RoundRobinCursor.objects.filter(team_id__in=wanted)}
            cursors = [found.get(t) or RoundRobinCursor(team_id=t) for t in wanted]
        return {c.team_id: c for c in cursors}

    def _pool_cursors(self, ids: list[int]) -> list[RepPool]:
        if not ids:
            return []
        pools = RepPool.objects.filter(pk__in=ids).order_by("pk")
        return list(pools.select_for_update() if self._lock else pools)

    def _load(self, cursors: dict[Key, Any], reps: QuerySet[User], key_of) -> None:
        states = {key: _Team(cursor=c, reps=[]) for key, c in cursors.items()}
        for rep in _with_new_leads(reps).select_related("team").order_by("pk"):
            rep = self._seen.setdefault(rep.pk, rep)
            state = states[key_of(rep)]
            if rep.is_away:
                state.skipped[str(rep)] = "away"
            elif rep.off_until is not None:
                state.skipped[str(rep)] = f"time off until {rep.off_until:%d %b}"
            elif rep.routing_weight == 0:
                state.skipped[str(rep)] = "weight 0 (takes no leads by rotation)"
            else:
                state.reps.append(rep)
        self._teams.update(states)

    def next_rep(self, key: Key, *, on_shift: bool = False) -> User | None:
        """The eligible rep with the lowest pass (ties: the first by id), counted as given
        one more lead; None when nobody of the team (or pool) can take one now.
        `on_shift`: only reps inside their working hours."""
        self.lock_teams({key})
        state = self._teams[key]
        floor = state.cursor.virtual_time
        best, best_key = None, None
        for rep in state.reps:
            if rep.new_leads >= rep.capacity:
                state.skipped[str(rep)] = f"at capacity ({rep.new_leads} of {rep.capacity})"
                continue
            if on_shift and not working_hours.on_shift(rep.working_hours, rep.zone_name, self._now):
                hours = working_hours.describe(rep.working_hours)
                state.skipped[str(rep)] = f"off shift ({hours}, {rep.zone_name})"
                continue
            key_ = max(rep.routing_pass, floor)
            if best_key is None or key_ < best_key:
                best, best_key = rep, key_
        if best is None:
            return None
        best.new_leads += 1
        best.routing_pass = best_key + 1 / best.routing_weight
        state.cursor.virtual_time = best_key
        state.cursor.last_user_id = best.pk
        state.dirty = True
        self._passes[best.pk] = best
        return best

    def eligible(self, key: Key) -> list[User]:
        """The team's (or pool's) reps the rotation considers (not away, weight above 0)."""
        self.lock_teams({key})
        return list(self._teams[key].reps)

    def sticky_team(self, lead: Lead) -> int | None:
        """The team of the account owner a sticky rule would keep this lead with (its
        cursor is locked with the others, in team order)."""
        rule = getattr(lead, "_routing_rule", None)
        if rule is None or not rule.sticky:
            return None
        if not hasattr(lead, "_sticky"):
            lead._sticky = sticky_of(lead)
        return lead._sticky.team_id if lead._sticky else None

    def _sticky_rep(self, lead: Lead) -> User | None:
        """The account owner, when the lead's rule keeps leads with them and they can
        take it now (an active rep, not away or off, under capacity)."""
        team_id = self.sticky_team(lead)
        if team_id is None:
            return None
        self.lock_teams({team_id})
        state = self._teams[team_id]
        rep = next((r for r in state.reps if r.pk == lead._sticky.owner_id), None)
        if rep is None or rep.new_leads >= rep.capacity:
            lead._sticky_note = f"Its account owner could not take it now ({lead._sticky.why})."
            return None
        rep.new_leads += 1
        lead._sticky_note = f"Kept with the account owner: {rep} {lead._sticky.why}."
        lead._sticky_rep = rep
        return rep

    def explain(self, key: Key | None, rep: User | None, lead: Lead | None = None) -> dict:
        """Why this rep (or nobody): what the hand-off event and the queue keep."""
        answer = self._explain(getattr(lead, "_routing_key", key), rep, lead)
        note = getattr(lead, "_sticky_note", "")
        if note:
            kept = rep is not None and getattr(lead, "_sticky_rep", None) == rep
            answer["why"] = note if kept else f"{note} {answer['why']}"
        return answer

    def _explain(self, key: Key | None, rep: User | None, lead: Lead | None) -> dict:
        rule = getattr(lead, "_routing_rule", None)
        said = {"rule": rule.name, "matched": rule.describe()} if rule else {}
        if rule and rule.pool_id:
            said["pool"] = rule.pool_id
        if rule and rule.on_shift:
            said["on_shift_only"] = True
        if key is None:
            return {"why": "No routing rule covers the lead: the organisation's queue."}
        state = self._teams.get(key)
        skipped = dict(state.skipped) if state else {}
        if rep is None:
            return {
                "why": f"Nobody of the {_kind(key)} can take it now.",
                "skipped": skipped,
                **said,
            }
        skipped.pop(str(rep), None)
        return {
            "why": f"Next in the {_kind(key)}'s weighted round robin "
            f"(weight {rep.routing_weight}).",
            "skipped": skipped,
            **said,
        }

    def hand_off_changes(self, lead: Lead, now: datetime) -> dict[str, Any]:
        """The team and rep for a lead (`owner` None when nobody can take it now, and
        `team_id` None when no rule covers it, or its pool has nobody now)."""
        key = self.target(lead)
        rule = self.rule(lead)
        lead._routing_key = key
        self.lock_teams({key, self.sticky_team(lead)})  # together: teams, then pools
        rep = self._sticky_rep(lead)
        if rep is not None:
            return {"team_id": rep.team_id, "owner": rep, "handed_off_at": now}
        rep = self.next_rep(key, on_shift=bool(rule and rule.on_shift)) if key else None
        # A pool's lead joins its rep's team; waiting, it has none (the organisation's queue).
        team_id = (rep.team_id if rep else None) if isinstance(key, tuple) else key
        return {"team_id": team_id, "owner": rep, "handed_off_at": now if rep else None}

    def save(self) -> None:
        """Write back the cursors and the reps' passes the rotation moved."""
        for state in self._teams.values():
            if state.dirty:
                state.cursor.save(update_fields=["last_user", "virtual_time"])
                state.dirty = False
        if not self._passes:
            return
        reps = sorted(self._passes.values(), key=lambda r: r.pk)
        if connection.vendor == "postgresql":
            update_rows(User, ("id", "routing_pass"), [(r.pk, r.routing_pass) for r in reps])
        else:
            User.objects.bulk_update(reps, ["routing_pass"])
        self._passes = {}


def hand_off_data(changes: dict[str, Any], explanation: dict[str, Any] | None = None) -> dict:
    """The `handed_off` event's data: to whom, in which team, and why."""
    owner = changes["owner"]
    return {
        "to": owner.pk,
        "to_name": str(owner),
        "team": changes["team_id"],
        **(explanation or {}),
    }


def queue_step(lead: Lead, *, team_id: int | None, now: datetime, explanation: dict) -> LeadEvent:
    """The `queued` step of a lead nobody can take now (applied in memory)."""
    return machine.step(
        lead,
        Action.QUEUE,
        by=None,
        now=now,
        changes={"team_id": team_id, "queued_at": now},
        data={"team": team_id, **explanation},
    )


def lead_hand_off(*, lead: Lead, now: datetime, by: User | None = None) -> LeadEvent | None:
    """Give an MQL to the next rep of the team covering it, or queue it there (the
    organisation's queue when no territory covers it). Returns the event."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        assigner = Assigner()
        changes = assigner.hand_off_changes(lead, now)
        explanation = assigner.explain(changes["team_id"], changes["owner"], lead)
        if changes["owner"] is None:
            if lead.owner_id is None and lead.queued_at is not None:
                # Queued already (its assignment clock runs): nothing new to record.
                return None
            event = queue_step(lead, team_id=changes["team_id"], now=now, explanation=explanation)
        else:
            event = machine.step(
                lead,
                Action.HAND_OFF,
                by=by,
                now=now,
                changes=changes,
                data=hand_off_data(changes, explanation),
            )
        lead.save()
        machine.write([event])
        assigner.save()
        return event


# -- the queue ------------------------------------------------------------------------


def teams_with_room(team_ids: Iterable[int] | None = None) -> set[int]:
    """The teams with a queued lead and a rep who could take it (a plain read, no lock)."""
    queued = Lead.objects.filter(stage=Stage.MQL, owner__isnull=True, team__isnull=False)
    if team_ids is not None:
        queued = queued.filter(team_id__in=list(team_ids))
    teams = set(queued.order_by().values_list("team_id", flat=True).distinct())
    if not teams:
        return set()
    room = (
        _with_new_leads(_reps(teams))
        .filter(is_away=False, routing_weight__gt=0)
        .values_list("team_id", "new_leads", "capacity", "off_until")
    )
    return {team for team, new, capacity, off in room if new < capacity and off is None}


def queue_drain(
    *, now: datetime | None = None, team_ids: Iterable[int] | None = None, limit: int = DRAIN_BATCH
) -> int:
    """Give queued leads to the reps who can take them now, oldest first; how many.

    Safe to run twice at once: each run claims the queued leads it reads with
    SKIP LOCKED (a lead another run holds is its to give), then locks the
    cursors after them (the lock order of every hand-off), and a lead given is
    no longer in any queue. The organisation's queue is routed again first (a
    territory may cover it now, or its rule's pool have room). A lead whose rule
    wants reps on shift waits while its team's reps are all off shift."""
    now = now or clock.now()
    with transaction.atomic():
        assigner = Assigner()
        pooled = _reroute_unassigned(assigner)
        teams = teams_with_room(team_ids)
        leads = pooled
        if teams:
            leads += list(
                Lead.objects.select_for_update(skip_locked=True)
                .filter(stage=Stage.MQL, owner__isnull=True, team_id__in=teams)
                .order_by("queued_at", "id")[:limit]
            )
        if not leads:
            return 0
        leads.sort(key=lambda lead: (lead.queued_at or now, lead.pk))
        assigner.lock_teams({assigner.target(lead) for lead in leads})
        events, handed = [], []
        for lead in leads:
            changes = assigner.hand_off_changes(lead, now)
            if changes["owner"] is None:
                continue
            explanation = assigner.explain(None, changes["owner"], lead)
            where = "the pool's" if isinstance(lead._routing_key, tuple) else "the team's"
            explanation["why"] = f"From {where} queue, oldest first. " + explanation["why"]
            events.append(
                machine.step(
                    lead,
                    Action.HAND_OFF,
                    by=None,
                    now=now,
                    changes=changes,
                    data={**hand_off_data(changes, explanation), "queued_at": _iso(lead)},
                )
            )
            handed.append(lead)
        _save(handed, ["owner", "team", "handed_off_at", "version", "updated_at"])
        machine.write(events)
        assigner.save()
        return len(handed)


def _iso(lead: Lead) -> str | None:
    return lead.queued_at.isoformat() if lead.queued_at else None


def _save(leads: list[Lead], names: list[str]) -> None:
    if not leads:
        return
    fields = ["id", *(Lead._meta.get_field(name).attname for name in names)]
    if connection.vendor == "postgresql":
        update_rows(Lead, fields, [tuple(getattr(lead, f) for f in fields) for lead in leads])
    else:
        Lead.objects.bulk_update(leads, names)


def _reroute_unassigned(assigner: Assigner) -> list[Lead]:
    """Leads in the organisation's queue whose country a territory now covers move to
    that team's queue (they keep their place: `queued_at`, and their clock). Returns
    those whose rule sends to a pool (locked): the drain tries the pool's reps."""
    waiting = list(
        Lead.objects.select_for_update(skip_locked=True)
        .filter(stage=Stage.MQL, owner__isnull=True, team__isnull=True)
        .order_by("id")[:DRAIN_BATCH]
    )
    moved, pooled = [], []
    for lead in waiting:
        team_id = assigner.route(lead)
        if team_id is not None:
            lead.team_id = team_id
            moved.append(lead)
        elif isinstance(assigner.target(lead), tuple):
            pooled.append(lead)
    _save(moved, ["team"])
    rollups.record_leads(moved)
    return pooled


def queue_drain_after_commit(team_ids: Iterable[int | None]) -> None:
    """After this transaction commits, give these teams' queued leads to whoever has room
    now. A failure is logged, not raised: the person's action stands, and the beat's
    sweep drains the queue a minute later."""
    teams = {t for t in team_ids if t}

    def drain() -> None:
        try:
            queue_drain(team_ids=teams)
        except Exception:  # noqa: BLE001 - the sweep catches up
            log.warning("queue drain after commit failed; the sweep will retry", exc_info=True)

    if teams:
        transaction.on_commit(drain)


def on_lead_events(events: list[LeadEvent]) -> None:
    """A listener of the leads machine: a rep whose new lead was acted on may have room."""
    freed = [e for e in events if e.kind in FREES_ROOM and e.from_stage == Stage.MQL]
    if freed:
        queue_drain_after_commit({e.lead.team_id for e in freed})


def on_member_changed(*, member: User, **_: Any) -> None:
    """A rep back from away, or given more capacity or weight: their team's queue drains."""
    queue_drain_after_commit([member.team_id])


def lead_assign(*, lead: Lead, to: User | None, by: User, now: datetime) -> LeadEvent:
    """A manager gives a queued lead to a rep by hand (the manager of its team, or an
    admin for any queue, the organisation's too). The assignment clock is met and
    the rep's accept clock starts, as for an automatic hand-off."""

    def prepare(current: Lead) -> machine.Change:
        if not machine.manages_team(by, current.team_id):
            raise PermissionDenied("Only the manager of the lead's team assigns its queued leads.")
        if current.owner_id is not None:
            raise machine.TransitionNotAllowed(
                Action.HAND_OFF,
                current.stage,
                f"This lead is no longer queued: {current.owner} holds it. Reload the queue.",
            )
        if to is None:
            raise ValidationError({"to": ["Choose a rep."]})
        team_id = current.team_id or to.team_id
        if not team_reps(team_id).filter(pk=to.pk).exists():
            raise ValidationError({"to": [f"{to} is not an active sales rep of this team."]})
        changes = {"team_id": team_id, "owner": to, "handed_off_at": now}
        return machine.Change(
            changes=changes,
            data={
                **hand_off_data(changes),
                "why": f"Assigned from the queue by hand by {by}.",
                "queued_at": _iso(current),
            },
        )

    if not (by.has_perm(perm("manage_team")) or by.has_perm(perm("manage_organisation"))):
        raise PermissionDenied("Only a sales manager or an admin assigns queued leads.")
    return machine.transition(lead=lead, action=Action.HAND_OFF, by=by, now=now, prepare=prepare)


# -- where would this lead go, and why (nothing assigned) --------------------------------


def _sticky_answer(dry: Assigner, email: Any, answer: dict[str, Any]) -> bool:
    """The rule keeps leads with their account owner: would this one stay with them?"""
    sticky = sticky_for_email(str(email or ""))
    if sticky is None or sticky.team_id is None:
        return False
    owner = next((r for r in dry.eligible(sticky.team_id) if r.pk == sticky.owner_id), None)
    if owner is None or owner.new_leads >= owner.capacity:
        answer["sticky"] = f"Its account owner could not take it now ({sticky.why})."
        return False
    answer["rep"] = {"id": owner.pk, "name": str(owner)}
    answer["skipped"] = {}
    answer["why"] = f"Kept with the account owner: {owner} {sticky.why}."
    return True


def where_would_it_go(
    *, fields: dict[str, Any], attributes: dict[str, Any], rules: list[Rule] | None = None
) -> dict[str, Any]:
    """The rule a lead with these fields would match (of `rules`, a draft, or those in
    force), its team or pool, the rep its round robin would give it to next, and why
    each other rep was passed over. A plain read: no lock, nothing written."""
    if rules is None:
        rules = rules_in_force()[1]
    checked = []
    rule = None
    view = lead_view(fields, attributes)
    for candidate in rules:
        if candidate.matches(view):
            rule = candidate
            break
        checked.append({"rule": candidate.name, "matched": False, "says": candidate.describe()})
    answer: dict[str, Any] = {"checked": checked, "rule": None, "team": None, "rep": None}
    if rule is None:
        answer["why"] = "No rule matches: it would wait in the organisation's queue."
        return answer
    answer["rule"] = {"name": rule.name, "says": rule.describe(), "on_shift": rule.on_shift}
    answer.update(_target_answer(rule))
    kind = "pool" if rule.pool_id else "team"
    dry = Assigner(rules, lock=False)
    if rule.sticky and _sticky_answer(dry, fields.get("email"), answer):
        return answer
    rep = dry.next_rep(rule.target, on_shift=rule.on_shift)
    skipped = dry.explain(rule.target, rep)["skipped"]
    for other in dry.eligible(rule.target):
        if other != rep:
            skipped.setdefault(str(other), "further back in the round robin")
    answer["skipped"] = skipped
    if rep is None:
        queue = "the organisation's queue" if rule.pool_id else "the team's queue"
        answer["why"] = f"Nobody of the {kind} can take it now: it would wait in {queue}."
    else:
        answer["rep"] = {"id": rep.pk, "name": str(rep)}
        answer["why"] = f"{rep} is next in the {kind}'s weighted round robin."
    if answer.get("sticky"):
        answer["why"] = f"{answer.pop('sticky')} {answer['why']}"
    return answer


def _target_answer(rule: Rule) -> dict[str, Any]:
    from alignment.models import Team

    if rule.pool_id:
        pool = RepPool.objects.filter(pk=rule.pool_id).first()
        return {"pool": {"id": rule.pool_id, "name": pool.name if pool else ""}}
    team = Team.objects.filter(pk=rule.team_id).first()
    return {"team": {"id": rule.team_id, "name": str(team) if team else ""}}
