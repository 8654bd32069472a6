"""What every request handler and background task of one node shares (no module globals).

Every field is typed and set in one place, node/wiring.py: what a node is made of can be read
there and here, never discovered at run time.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from federation.peer import Parent
from federation.puller import Puller
from federation.replicator import Replicator
from federation.sequencer import PushSequencer
from federation.signing import NonceStore
from node.checkpointer import WalCheckpointer
from node.db import Database
from node.seams import PushSection, RecordProjection, RecordScreen
from node.settings import Settings
from node.signals import CommitSignal
from node.supervisor import Supervisor


@dataclass(frozen=True)
class NodeIdentity:
    code: str
    name: str


ProgressProvider = Callable[..., list[Any]]
"""(db, *, node, unit, limit) -> per-directive progress items, for the views' directive view."""


@dataclass
class NodeContext:
    settings: Settings
    db: Database
    identity: NodeIdentity
    # The push sections every outgoing batch carries and every received one is read by.
    push_sections: Sequence[PushSection] = ()
    # What checks a push's records before they are stored (origin seals: node/origins).
    record_screens: Sequence[RecordScreen] = ()
    # What every record becomes before it leaves for the parent (node/privacy); None: as held.
    projection: RecordProjection | None = None
    # The fingerprint of the prefecture's hash key this node holds (node/privacy), or None.
    hash_key_id: str | None = None
    # At a parent: one child's pipelined pushes applied in log order (built once per node).
    push_sequencer: PushSequencer = field(default_factory=PushSequencer)
    # At a parent: nonces of the children's signed requests seen within the replay window.
    nonces: NonceStore = field(default_factory=lambda: NonceStore(300.0))
    # Runs and watches every background task (node/supervisor.py); its states() are what
    # /readyz, `tiersync status` and /metrics report.
    supervisor: Supervisor = field(default_factory=Supervisor)
    # Set while the node serves (create_app's lifespan):
    parent: Parent | None = None  # the one connection to the parent (shared by the loops)
    replicator: Replicator | None = None
    puller: Puller | None = None
    checkpointer: WalCheckpointer | None = None
    directive_signal: CommitSignal | None = None  # wakes the children's held directive polls
    live_feed: object | None = None  # the live incident feed's broadcaster (node/live)
    # The directives' progress as the views show it (None: the view shows none).
    directive_progress: ProgressProvider | None = None
