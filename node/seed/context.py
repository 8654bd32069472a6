"""The state a unit's generator works with: its spec, a seeded RNG, deterministic ids, dates."""

import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from node.seed.names import HAN_GIVEN, HAN_SURNAMES, MONGOL, TIBETAN
from node.seed.topology import UnitSpec

CHINA = timezone(timedelta(hours=8))
NAMESPACE = uuid.UUID("9e4c3a52-7f1d-4b8e-a6d2-2c5b1f0e8d37")


def default_as_of() -> datetime:
    """Midnight today, China Standard Time: dates stay the same all day (deterministic per day)
    and recent enough for the weekly/monthly patrol rule to show."""
    now = datetime.now(CHINA)
    return datetime(now.year, now.month, now.day, tzinfo=CHINA)


@dataclass
class UnitContext:
    profile: str
    seed: int
    spec: UnitSpec
    as_of: datetime
    rng: random.Random = field(init=False)
    _counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.profile}:{self.seed}:{self.spec.code}")
        self.as_of = self.as_of.astimezone(CHINA)

    @property
    def county(self) -> str:
        return self.spec.code[:6] if len(self.spec.code) >= 6 else "632301"

    def record(self, kind: str, unit: str, data: dict[str, Any]) -> dict[str, Any]:
        """A record in bulk-API shape with a deterministic id (uuid5 of profile, seed, unit)."""
        n = self._counters[kind] = self._counters.get(kind, 0) + 1
        key = f"{self.profile}:{self.seed}:{self.spec.code}:{kind}:{n}"
        return {"id": str(uuid.uuid5(NAMESPACE, key)), "kind": kind, "unit": unit, "data": data}

    def days_ago(self, low: float, high: float) -> datetime:
        return self.as_of - timedelta(days=self.rng.uniform(low, high))

    def date_ago(self, low: float, high: float) -> date:
        return self.days_ago(low, high).date()

    def weighted(self, table: Mapping[str, float]) -> str:
        return self.rng.choices(list(table), weights=list(table.values()))[0]

    def name(self, ethnicity: str = "Tibetan") -> str:
        rng = self.rng
        if ethnicity == "Tibetan":
            return rng.choice(TIBETAN) + rng.choice(TIBETAN)
        if ethnicity == "Mongol":
            return rng.choice(MONGOL) + rng.choice(TIBETAN)
        return rng.choice(HAN_SURNAMES) + rng.choice(HAN_GIVEN)

    def phone(self) -> str:
        return "1" + self.rng.choice("3578") + "".join(self.rng.choices("0123456789", k=9))

    def split(self, total: int, parts: int, *, low: int = 1) -> list[int]:
        """`total` cut into `parts` random whole parts of at least `low` that sum exactly."""
        cuts = [low] * parts
        for _ in range(total - low * parts):
            cuts[self.rng.randrange(parts)] += 1
        return cuts


def iso(moment: datetime | date) -> str:
    return moment.isoformat()


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


Generator = Callable[[UnitContext], Any]
