"""Many seeds of one profile, over worker processes, with a progress bar and a summary."""

import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.sim.run import run_seed
from tests.sim.workload import profile_named

OPEN_DEFECTS: set[int] = set()
"""Defects of issue 10 not yet fixed on main: the profiles leave out what reaches them (see
Profile.safe) and tests/test_sim.py holds each one's seed as a known failure. Take a number
out when its fix lands: its faults join the profiles and its seed test must pass."""


@dataclass
class Summary:
    profile: str
    seeds: int = 0
    simulated_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[int, list[str]]] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return sum(len(v) for _s, v in self.failures)

    def text(self) -> str:
        injected = sum(n for k, n in self.faults.items() if k != "backup")
        return (
            f"profile {self.profile}: {self.seeds} seeds, {self.simulated_s / 3600:.1f} simulated "
            f"hours in {self.wall_s:.0f} s ({self.cpu_s:.0f} CPU s), {injected} faults injected "
            f"({', '.join(f'{k} {n}' for k, n in sorted(self.faults.items()))}), "
            f"{self.violations} violations in {len(self.failures)} seeds"
        )


def replay_command(seed: int, profile: str) -> str:
    return f"python -m tests.sim replay {seed} --profile {profile}"


Outcome = tuple[int, float, float, dict[str, int], list[str]]


def _one(args: tuple[int, str, frozenset[int]]) -> Outcome:
    seed, name, open_defects = args
    profile = profile_named(name).safe(set(open_defects))
    result = run_seed(seed, profile)
    return (
        seed,
        result.simulated_s,
        result.cpu_s,
        result.faults,
        [str(v) for v in result.violations],
    )


def run_many(
    seeds: Iterable[int],
    profile: str,
    *,
    workers: int | None = None,
    progress: bool = False,
    open_defects: set[int] | None = None,
) -> Summary:
    chosen = list(seeds)
    defects = frozenset(OPEN_DEFECTS if open_defects is None else open_defects)
    summary = Summary(profile)
    started = time.perf_counter()
    jobs = [(s, profile, defects) for s in chosen]
    workers = workers or min(len(chosen), os.cpu_count() or 1)
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, maxtasksperchild=50) as pool:
        for seed, simulated, cpu, faults, violations in pool.imap_unordered(_one, jobs):
            summary.seeds += 1
            summary.simulated_s += simulated
            summary.cpu_s += cpu
            summary.faults.update(faults)
            if violations:
                summary.failures.append((seed, violations))
                if progress:
                    sys.stderr.write(f"\nseed {seed} FAILED: {violations[0]}\n")
                    sys.stderr.write(f"  replay: {replay_command(seed, profile)}\n")
            if progress:
                _bar(summary, len(chosen), time.perf_counter() - started)
    summary.wall_s = time.perf_counter() - started
    if progress:
        sys.stderr.write("\n")
    return summary


def _bar(summary: Summary, total: int, elapsed: float) -> None:
    done = summary.seeds
    filled = int(30 * done / total)
    rate = done / elapsed if elapsed else 0.0
    left = (total - done) / rate if rate else 0.0
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} seeds, "
        f"{len(summary.failures)} failed, {summary.simulated_s / 3600:.0f} sim h, "
        f"{left / 60:.0f} min left "
    )
    sys.stderr.flush()
