"""Shrinking: a failing event list reduced (delta debugging: drop chunks, then single events,
while the same checks still fail) and printed as a ready-to-paste regression test."""

import pprint
from collections.abc import Callable

from tests.sim.run import Result, run_events
from tests.sim.workload import Event, Profile


def failing_checks(result: Result) -> set[str]:
    return {v.check for v in result.violations if v.check != "not converged"}


def shrink(
    events: list[Event],
    profile: Profile,
    *,
    budget: int = 80,
    run: Callable[[list[Event], Profile], Result] = run_events,
) -> list[Event]:
    """The shortest list found (within `budget` runs) that still fails the same checks."""
    wanted = failing_checks(run(events, profile))
    if not wanted:
        return events
    current, chunk, runs = list(events), max(1, len(events) // 2), 1
    while chunk >= 1 and runs < budget:
        i, progressed = 0, False
        while i < len(current) and runs < budget:
            trial = current[:i] + current[i + chunk :]
            runs += 1
            if trial and failing_checks(run(trial, profile)) & wanted:
                current, progressed = trial, True
            else:
                i += chunk
        if not progressed:
            chunk //= 2
    return current


def as_test(events: list[Event], profile: Profile, seed: int | None) -> str:
    """A pytest test that replays the shrunk run (paste it into tests/test_sim.py)."""
    name = f"seed_{seed}" if seed is not None else "shrunk_run"
    body = pprint.pformat(events, width=92, sort_dicts=False)
    lines = "\n".join("    " + line for line in f"events = {body}".splitlines())
    return (
        f"def test_{profile.name}_{name}_regression() -> None:\n"
        f'    """Shrunk from `python -m tests.sim replay {seed} --profile {profile.name}`."""\n'
        f"{lines}\n"
        f"    result = run_events(events, profile_named({profile.name!r}))\n"
        "    assert result.violations == []\n"
    )
