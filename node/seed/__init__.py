"""The article's dataset: the Huangnan unit tree and deterministic records for every unit.

    build_topology(profile) -> list[UnitSpec]           the units (grids included), names, levels
    records_for(profile, unit_code, seed) -> Iterator   records owned by one unit, bulk-API shape

Profiles: `huangnan` (the whole prefecture: 4 counties, 34 townships, ~270 villages, 1,862 grids,
423,000+ records) and `demo` (the article's units with their exact figures, few others). County
codes are real; township, village and grid codes are made up (see topology.py).
"""

from node.seed.generate import records_for, subtree_records
from node.seed.topology import PROFILES, UnitSpec, build_topology, owner_node

__all__ = [
    "PROFILES",
    "UnitSpec",
    "build_topology",
    "owner_node",
    "records_for",
    "subtree_records",
]
