"""What every request handler and background task of one node shares (no module globals)."""

from dataclasses import dataclass, field
from typing import Any

from node.db import Database
from node.records.service import NodeIdentity
from node.settings import Settings


@dataclass
class NodeContext:
    settings: Settings
    db: Database
    identity: NodeIdentity
    extras: dict[str, Any] = field(default_factory=dict)
