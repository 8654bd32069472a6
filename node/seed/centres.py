"""What the centres themselves hold: governance bodies, mediation cases, legal-service sessions —
with the article's figures exact at the units where it puts them."""

import random
from datetime import date
from typing import Any

from node.seed.context import UnitContext
from node.seed.names import DISPUTE_CATEGORIES
from node.seed.topology import DONGMEN, HUOERJIA, LONGWU, TUOYEMA, TUOYEMA_COMMITTEES

JIANZHA, ZEKU = "632322", "632323"
JIANZHA_CENTRE_CASES = {
    "mediated": 118,
    "failed": 22,
    "referred": 11,
    "mediating": 6,
    "accepted": 2,
}
"""Jianzha County People's Mediation Centre: 159 cases accepted, 118 mediated successfully."""
JIANZHA_CENTRE_RECOVERED_FEN = 7_277_000_00
JIANZHA_CENTRE_STAFF = [
    "judge",
    "judge's assistant",
    "lawyer",
    "clerk",
    "invited mediator",
    "invited mediator",
    "invited mediator",
]
TUOYEMA_SESSIONS, TUOYEMA_ATTENDANCE = 22, 3126
"""Tuoyema: 20+ legal-publicity sessions, 3,120+ people educated (4 at the township's station,
3 in each of its 6 herders' committees)."""
_LEVEL_TITLE = {
    "prefecture": "Prefecture",
    "county": "County",
    "township": "Township",
    "village": "Village",
}


def _members(ctx: UnitContext, roles: list[str]) -> list[dict[str, Any]]:
    return [{"name": ctx.name(), "role": role, "phone": ctx.phone()} for role in roles]


def _org(ctx: UnitContext, name: str, org_type: str, roles: list[str], **extra: Any) -> Any:
    data = {"name": name, "org_type": org_type, "members": _members(ctx, roles), **extra}
    return ctx.record("governance_org", ctx.spec.code, data)


def governance_orgs(ctx: UnitContext) -> list[dict[str, Any]]:
    """The unit's governance centre and the bodies the article names at it."""
    spec, level = ctx.spec, ctx.spec.level
    roles = ["director", "deputy director", "duty officer", "grid coordinator"]
    out = [_org(ctx, f"{spec.name} Comprehensive Governance Centre", "centre", roles)]
    if level in ("county", "township"):
        mediators = ["mediator"] * (3 if level == "county" else 2)
        out.append(
            _org(ctx, f"{spec.name} People's Mediation Committee", "mediation_committee", mediators)
        )
    if spec.code == JIANZHA:
        out.append(
            _org(
                ctx,
                "Jianzha County People's Mediation Centre",
                "mediation_committee",
                JIANZHA_CENTRE_STAFF,
                founded="2019-01-01",
            )
        )
    if spec.code == ZEKU:
        out.append(_org(ctx, "Zeku Mass-Organisations Service Centre", "other", ["director"]))
        out += [
            _org(ctx, f"Zeku Mass-Organisations Service Post {n}", "service_post", ["clerk"])
            for n in range(1, 7)
        ]
    if spec.code == TUOYEMA:
        out.append(
            _org(
                ctx,
                "Tuoyema Public Legal Service Station",
                "legal_service_station",
                ["lawyer", "clerk"],
            )
        )
    if spec.parent == TUOYEMA:
        out.append(
            _org(
                ctx,
                f"{spec.name} Legal-Service Workroom",
                "legal_service_station",
                ["legal adviser"],
            )
        )
    if spec.code == LONGWU:
        out.append(_org(ctx, "Longwu Party-Building Alliance", "other", ["secretary"] * 3))
    if spec.code == HUOERJIA:
        out.append(
            _org(ctx, "Huoerjia Community Service Hall", "service_post", ["service window"] * 6)
        )
    if spec.code == DONGMEN:
        out.append(_org(ctx, "Dongmen Red-and-White Affairs Council", "other", ["elder"] * 5))
    if level == "village" and ctx.rng.random() < 0.4:
        out.append(
            _org(
                ctx,
                f"{spec.name} Security Patrol Team",
                "security_patrol",
                ["patroller"] * ctx.rng.randint(3, 8),
            )
        )
    return out


def _dispute(ctx: UnitContext, n: int, status: str, fen: int, accepted: date) -> dict[str, Any]:
    closed = status in ("mediated", "failed", "referred")
    data: dict[str, Any] = {
        "case_no": f"{ctx.spec.code}-{accepted.year}-{n:04d}",
        "category": ctx.rng.choice(DISPUTE_CATEGORIES),
        "parties": [ctx.name(), ctx.name()],
        "accepted_on": accepted.isoformat(),
        "status": status,
        "mediator": ctx.name(),
        "judicial_confirmation": status == "mediated" and ctx.rng.random() < 0.3,
        "amount_recovered_yuan": f"{fen // 100}.{fen % 100:02d}",
    }
    if closed:
        end = min(ctx.as_of.date(), date.fromordinal(accepted.toordinal() + ctx.rng.randint(1, 40)))
        data["closed_on"] = end.isoformat()
    return ctx.record("dispute", ctx.spec.code, data)


def disputes(ctx: UnitContext, count: int) -> list[dict[str, Any]]:
    """Cases mediated at this centre over the last two years."""
    out = []
    for n in range(1, count + 1):
        status = ctx.weighted(
            {"mediated": 72, "failed": 12, "referred": 6, "mediating": 7, "accepted": 3}
        )
        fen = int(ctx.rng.lognormvariate(9.5, 1.2)) * 100 if status == "mediated" else 0
        out.append(_dispute(ctx, n, status, fen, ctx.date_ago(1, 730)))
    return out


def jianzha_centre_disputes(ctx: UnitContext) -> list[dict[str, Any]]:
    """The 159 cases of Jianzha's mediation centre (from its founding to the article), 118
    mediated, recovering exactly 7,277,000 yuan between them."""
    statuses = [s for s, n in JIANZHA_CENTRE_CASES.items() for _ in range(n)]
    ctx.rng.shuffle(statuses)
    weights = [ctx.rng.lognormvariate(0, 1) for _ in range(JIANZHA_CENTRE_CASES["mediated"])]
    shares = [int(JIANZHA_CENTRE_RECOVERED_FEN * w / sum(weights)) for w in weights]
    shares[-1] += JIANZHA_CENTRE_RECOVERED_FEN - sum(shares)
    start, end = date(2019, 1, 7).toordinal(), date(2020, 11, 20).toordinal()
    out = []
    for n, status in enumerate(statuses, start=1):
        fen = shares.pop() if status == "mediated" else 0
        out.append(_dispute(ctx, n, status, fen, date.fromordinal(ctx.rng.randint(start, end))))
    return out


def legal_activities(ctx: UnitContext, count: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        kind = ctx.weighted({"publicity": 60, "consultation": 20, "legal_aid": 10, "training": 10})
        people = ctx.rng.randint(40, 300) if kind == "publicity" else ctx.rng.randint(5, 60)
        out.append(_activity(ctx, kind, people))
    return out


ACTIVITY_WORDS = {
    "publicity": "宣传活动",
    "consultation": "法律咨询",
    "legal_aid": "法律援助",
    "training": "培训",
}


def _activity(ctx: UnitContext, kind: str, people: int) -> dict[str, Any]:
    topic = ctx.rng.choice(["《草原法》", "《婚姻法》", "禁毒", "《民法典》", "民族团结", "反诈"])
    data = {
        "title": f"{topic}{ACTIVITY_WORDS[kind]}",
        "activity_type": kind,
        "held_on": ctx.date_ago(1, 365).isoformat(),
        "attendance": people,
        "place": ctx.spec.name,
    }
    return ctx.record("legal_activity", ctx.spec.code, data)


def tuoyema_sessions(ctx: UnitContext) -> list[dict[str, Any]]:
    """This unit's share of Tuoyema's 22 publicity sessions and 3,126 attendees."""
    plan = random.Random(f"tuoyema:{ctx.seed}")
    people = [60] * TUOYEMA_SESSIONS
    for _ in range(TUOYEMA_ATTENDANCE - sum(people)):
        people[plan.randrange(TUOYEMA_SESSIONS)] += 1
    if ctx.spec.code == TUOYEMA:
        mine = people[:4]
    else:
        k = TUOYEMA_COMMITTEES.index(ctx.spec.name)
        mine = people[4 + 3 * k : 7 + 3 * k]
    return [_activity(ctx, "publicity", n) for n in mine]
