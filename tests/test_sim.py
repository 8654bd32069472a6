"""The deterministic simulator (tests/sim, docs/reliability.md): seeded runs of whole trees
under faults, held to the checker."""

from tests.sim.run import run_seed
from tests.sim.workload import CHAIN, Profile


def test_a_four_level_chain_without_faults_converges_and_checks() -> None:
    profile = Profile("chain", CHAIN, duration_s=600, events=20, fault_share=0.0)
    result = run_seed(1, profile)
    assert result.violations == []
    assert result.converged_after_s is not None


def test_the_same_seed_replays_the_same_run() -> None:
    profile = Profile("chain", CHAIN, duration_s=300, events=10, fault_share=0.5)
    first, second = run_seed(7, profile), run_seed(7, profile)
    assert first.events == second.events
    assert (first.violations, first.simulated_s, first.faults) == (
        second.violations,
        second.simulated_s,
        second.faults,
    )
