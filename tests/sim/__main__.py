"""`python -m tests.sim replay SEED [--profile P] [--shrink]` replays one seed (step for step)
and prints its violations (and, with --shrink, a regression test); `python -m tests.sim soak
[--seeds N] [--profile P]` runs many seeds with a progress bar and a summary (`make soak`);
`python -m tests.sim day [--hours H] [--nodes N]` times one seed of the day profile (issue 16's
speed target: a simulated day of the prefecture with faults in under a minute)."""

import argparse
import os
import sys
from dataclasses import replace

from tests.sim.profiles import OPEN_DEFECTS, replay_command, run_many
from tests.sim.run import run_seed, trace_digest
from tests.sim.shrink import as_test, shrink
from tests.sim.workload import profile_named


def main(argv: list[str] | None = None) -> int:
    if os.environ.get("PYTHONHASHSEED") != "0":  # set iteration order too must replay
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, "-m", "tests.sim", *(argv or sys.argv[1:])])
    parser = argparse.ArgumentParser(prog="python -m tests.sim")
    sub = parser.add_subparsers(dest="command", required=True)
    replay = sub.add_parser("replay", help="replay one seed")
    replay.add_argument("seed", type=int)
    replay.add_argument("--profile", default="ci")
    replay.add_argument("--shrink", action="store_true", help="print a shrunk regression test")
    replay.add_argument("--all-faults", action="store_true", help="include open defects' faults")
    replay.add_argument(
        "--trace", action="store_true", help="print a digest of every request the links carried"
    )
    soak = sub.add_parser("soak", help="many seeds, a progress bar, a summary")
    soak.add_argument("--seeds", type=int, default=10_000)
    soak.add_argument("--first", type=int, default=1)
    soak.add_argument("--profile", default="soak")
    soak.add_argument("--workers", type=int, default=None)
    day = sub.add_parser("day", help="time one seed of the day profile (simulated hours/CPU s)")
    day.add_argument("--seed", type=int, default=1)
    day.add_argument("--hours", type=float, default=24.0)
    day.add_argument("--nodes", type=int, default=None, help="the first N nodes of the tree")
    args = parser.parse_args(argv)
    if args.command == "day":
        return _day(args.seed, args.hours, args.nodes)
    if args.command == "replay":
        profile = profile_named(args.profile)
        if not args.all_faults and not args.profile.startswith("hunt"):
            profile = profile.safe(OPEN_DEFECTS)
        result = run_seed(args.seed, profile)
        print(
            f"seed {args.seed} ({args.profile}): {len(result.events)} events, "
            f"{result.simulated_s:.0f} simulated s in {result.wall_s:.1f} s, faults {result.faults}"
        )
        if args.trace:
            print(f"  trace {trace_digest(result)} ({len(result.trace)} requests)")
        for violation in result.violations:
            print(f"  {violation}")
        if result.ok:
            print(f"  converged {result.converged_after_s:.0f} s after heal; no violation")
            return 0
        if args.shrink:
            short = shrink(result.events, profile)
            print(f"\nshrunk to {len(short)} events; paste into tests/test_sim.py:\n")
            print(as_test(short, profile, args.seed))
        return 1
    seeds = range(args.first, args.first + args.seeds)
    summary = run_many(seeds, args.profile, workers=args.workers, progress=True)
    print(summary.text())
    for seed, violations in summary.failures:
        print(f"seed {seed}: {violations[0]}\n  replay: {replay_command(seed, args.profile)}")
    return 1 if summary.failures else 0


def _day(seed: int, hours: float, nodes: int | None) -> int:
    base = profile_named("day").safe(OPEN_DEFECTS)
    tree = base.tree[:nodes] if nodes else base.tree  # parents first: a prefix is a tree
    profile = replace(
        base,
        tree=tree,
        duration_s=hours * 3600,
        events=round(base.events * hours / 24),
        fault_nodes=None,
    )
    result = run_seed(seed, profile)
    injected = sum(n for k, n in result.faults.items() if k != "backup")
    print(
        f"day seed {seed}: {len(tree)} nodes, {result.simulated_s / 3600:.1f} simulated hours "
        f"(with the heal), {len(result.events)} events, {injected} faults injected, "
        f"{len(result.violations)} violations, {len(result.trace)} requests; "
        f"{result.cpu_s:.1f} CPU s, {result.wall_s:.1f} wall s"
    )
    for violation in result.violations[:10]:
        print(f"  {violation}")
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
