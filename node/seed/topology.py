"""The unit tree of a profile: prefecture, counties, townships, villages and grids, with names.

Codes: the prefecture (6323) and county codes (632301 Tongren, 632322 Jianzha, 632323 Zeku,
632324 Henan) are the real administrative-division codes. **Township, village and grid codes are
made up** (townships numbered 101… in each county, communities 001… and villages 201… in each
township, grids 001… in each village), and so are the names of the villages other than those
the article names (Dongmen, Hazang, Huoerjia, Tuoyema's herders' committees). Township names
follow public lists of the prefecture's towns and townships.

The tree depends on the profile only (never on the seed): the same codes every time.
"""

import random
from dataclasses import dataclass
from functools import cache

from node.seed.names import PLACE_SYLLABLES
from schemas.codes import Level

PROFILES = ("demo", "huangnan")
PREFECTURE = ("6323", "Huangnan Tibetan Autonomous Prefecture")
COUNTIES = {
    "632301": "Tongren City",
    "632322": "Jianzha County",
    "632323": "Zeku County",
    "632324": "Henan Mongol Autonomous County",
}
TOWNSHIPS = {
    "632301": ["Longwu Town", "Baoan Town", "Duowa Town", "Nianduhu Township", "Zhamao Township",
               "Huangnaihai Township", "Qukuhu Township", "Shuangpengxi Township",
               "Jiawu Township", "Lancai Township", "Guashize Township"],
    "632322": ["Kangyang Town", "Maketang Town", "Kanbula Town", "Jiajia Township",
               "Cuozhou Township", "Angla Township", "Nengke Township", "Dangshun Township",
               "Jianzhatan Township"],
    "632323": ["Zequ Town", "Maixiu Town", "Heri Town", "Ningxiu Town", "Wangjia Township",
               "Xibusha Township", "Duohemao Township", "Qiakeri Township"],
    "632324": ["Youganning Town", "Ningmute Town", "Duosong Township", "Saierlong Township",
               "Kesheng Township", "Tuoyema Township"],
}  # fmt: skip

# The article's units (codes made up below county level) and their fixed shapes.
KANGYANG, DONGMEN = "632322101", "632322101201"
MAIXIU, HAZANG = "632323102", "632323102201"
TUOYEMA = "632324106"
LONGWU, HUOERJIA = "632301101", "632301101001"
KANGYANG_VILLAGES = [
    "Dongmen Village", "Ximen Village", "Kangyang Village", "Shajiaer Village", "Jiangla Village",
    "Gongba Village", "Yangjia Village", "Chaijia Village", "Xiaxiong Village", "Jiaodong Village",
    "Dongqiao Village", "Kangyang Street Community", "Xinhua Village", "Liangcheng Village",
]  # fmt: skip
KANGYANG_GRIDS = [3] * 12 + [2] * 2  # 40 grids over its 14 village centres
TUOYEMA_COMMITTEES = [f"Tuoyema Herders' Committee {n}" for n in range(1, 7)]
HAZANG_GRIDS = 10
ARTICLE_VILLAGES = {DONGMEN, HAZANG, HUOERJIA}
DEMO_TOWNSHIPS = {LONGWU, KANGYANG, MAIXIU, TUOYEMA}  # the demo: the article's townships only
HUANGNAN_VILLAGES, HUANGNAN_GRIDS = 270, 1862


@dataclass(frozen=True)
class UnitSpec:
    """One unit. `node`: whether the profile suggests running a node for it (grids never)."""

    code: str
    name: str
    level: Level
    parent: str | None
    node: bool = False


def _village_name(rng: random.Random) -> str:
    return "".join(rng.choice(PLACE_SYLLABLES) for _ in range(2)).capitalize() + " Village"


def _village_plan(profile: str) -> dict[str, list[tuple[str, int]]]:
    """Township code → [(village name, grids)], with the article's villages fixed."""
    rng = random.Random(f"topology/{profile}")
    townships = [
        f"{county}{101 + i}" for county, names in TOWNSHIPS.items() for i in range(len(names))
    ]
    if profile == "demo":
        townships = [t for t in townships if t in DEMO_TOWNSHIPS]
    plan: dict[str, list[tuple[str, int]]] = {}
    free = [t for t in townships if t not in (KANGYANG, TUOYEMA)]
    per_township = (HUANGNAN_VILLAGES - 14 - 6) // len(free) if profile == "huangnan" else 3
    extra = (HUANGNAN_VILLAGES - 14 - 6) % len(free) if profile == "huangnan" else 0
    for i, code in enumerate(free):
        count = per_township + (1 if i < extra else 0)
        plan[code] = [(_village_name(rng), 0) for _ in range(count)]
    plan[KANGYANG] = list(zip(KANGYANG_VILLAGES, KANGYANG_GRIDS, strict=True))
    plan[TUOYEMA] = [(name, 0) for name in TUOYEMA_COMMITTEES]
    plan[MAIXIU][0] = ("Hazang Village", HAZANG_GRIDS)
    plan[LONGWU][0] = ("Huoerjia Community", 0)
    _allot_grids(plan, rng, profile)
    return plan


def _allot_grids(plan: dict[str, list[tuple[str, int]]], rng: random.Random, profile: str) -> None:
    """Give every village without a fixed count 3 grids or more; huangnan sums to 1,862."""
    open_slots = [(t, i) for t, vs in plan.items() for i, (_, g) in enumerate(vs) if g == 0]
    fixed = sum(g for vs in plan.values() for _, g in vs)
    target = HUANGNAN_GRIDS - fixed if profile == "huangnan" else 4 * len(open_slots)
    counts = {slot: 3 for slot in open_slots}
    for _ in range(target - 3 * len(open_slots)):
        counts[rng.choice(open_slots)] += 1
    for (township, i), n in counts.items():
        plan[township][i] = (plan[township][i][0], n)


def _village_code(township: str, index: int, name: str) -> str:
    return (
        f"{township}{index:03d}" if name.endswith("Community") else f"{township}{200 + index:03d}"
    )


@cache
def _topology(profile: str) -> tuple[UnitSpec, ...]:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    code, name = PREFECTURE
    units = [UnitSpec(code, name, Level.prefecture, None, True)]
    plan = _village_plan(profile)
    for county, county_name in COUNTIES.items():
        units.append(UnitSpec(county, county_name, Level.county, code, True))
        for i, township_name in enumerate(TOWNSHIPS[county]):
            township = f"{county}{101 + i}"
            if township not in plan:
                continue
            units.append(UnitSpec(township, township_name, Level.township, county, True))
            communities = villages = 0
            for village_name, grids in plan[township]:
                if village_name.endswith("Community"):
                    communities += 1
                    village = _village_code(township, communities, village_name)
                else:
                    villages += 1
                    village = _village_code(township, villages, village_name)
                node = village in ARTICLE_VILLAGES
                units.append(UnitSpec(village, village_name, Level.village, township, node))
                units.extend(
                    UnitSpec(f"{village}{g:03d}", f"{village_name} grid {g}", Level.grid, village)
                    for g in range(1, grids + 1)
                )
    return tuple(units)


def build_topology(profile: str = "demo") -> list[UnitSpec]:
    """Every unit of the profile, parents before children, grids included."""
    return list(_topology(profile))


def unit_index(profile: str) -> dict[str, UnitSpec]:
    return {u.code: u for u in _topology(profile)}


def owner_node(unit: str, node_codes: set[str] | frozenset[str]) -> str | None:
    """The node that owns `unit`'s records: the unit itself or its nearest ancestor that runs a
    node (None when no ancestor does)."""
    for length in (15, 12, 9, 6, 4):
        if len(unit) >= length and unit[:length] in node_codes:
            return unit[:length]
    return None
