"""The demo organisation: the people `make run` lets you log in as.

Only for local trials and tests; the password is public on purpose.
"""

from alignment.models import Side, Team, User
from alignment.roles import ROLE_NAMES, Role, sync_role_groups

DEMO_PASSWORD = "alignment-demo"

TEAMS = [
    # name, side, time zone
    ("Marketing", Side.MARKETING, "Europe/London"),
    ("Sales Americas", Side.SALES, "America/New_York"),
    ("Sales EMEA", Side.SALES, "Europe/Berlin"),
]

# username, first, last, role, team (None: no team)
PEOPLE = [
    ("maya", "Maya", "Patel", Role.MARKETING_MANAGER, "Marketing"),
    ("leo", "Leo", "Fischer", Role.MARKETER, "Marketing"),
    ("nina", "Nina", "Okafor", Role.MARKETER, "Marketing"),
    ("sam", "Sam", "Rivera", Role.SALES_MANAGER, "Sales Americas"),
    ("ravi", "Ravi", "Shah", Role.SALES_REP, "Sales Americas"),
    ("carmen", "Carmen", "Lopez", Role.SALES_REP, "Sales Americas"),
    ("tom", "Tom", "Becker", Role.SALES_REP, "Sales Americas"),
    ("elena", "Elena", "Novak", Role.SALES_MANAGER, "Sales EMEA"),
    ("jonas", "Jonas", "Weber", Role.SALES_REP, "Sales EMEA"),
    ("amelie", "Amélie", "Durand", Role.SALES_REP, "Sales EMEA"),
    ("luca", "Luca", "Romano", Role.SALES_REP, "Sales EMEA"),
    ("ada", "Ada", "Brooks", Role.ARBITER, None),
    ("admin", "Alex", "Admin", Role.ADMIN, None),
]

MANAGERS = {"Marketing": "maya", "Sales Americas": "sam", "Sales EMEA": "elena"}


def seed_organisation() -> list[User]:
    from django.contrib.auth.models import Group

    sync_role_groups()
    groups = {g.name: g for g in Group.objects.filter(name__in=ROLE_NAMES.values())}
    teams = {}
    for name, side, tz in TEAMS:
        teams[name], _ = Team.objects.get_or_create(
            name=name, defaults={"side": side, "time_zone": tz}
        )
    people = []
    for username, first, last, role, team_name in PEOPLE:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@demo.alignment.test",
            )
            user.set_password(DEMO_PASSWORD)
            user.team = teams.get(team_name)
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.save()
        user.groups.add(groups[ROLE_NAMES[role]])
        people.append(user)
    by_username = {p.username: p for p in people}
    for team_name, username in MANAGERS.items():
        Team.objects.filter(name=team_name, manager__isnull=True).update(
            manager=by_username[username]
        )
    # Read back, so each person's team knows its manager.
    fresh = User.objects.select_related("team").in_bulk([p.pk for p in people])
    return [fresh[p.pk] for p in people]
