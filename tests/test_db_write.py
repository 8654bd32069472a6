"""The cost every write transaction pays (node/db.py): its two statements on node_state are
built once, not on every write; every commit moves Database.generation."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, Update

from node import migrate
from node.db import Database


def test_a_write_builds_no_statement_and_moves_the_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'tiersync.db'}")
    try:
        migrate.upgrade(db.engine)
        db.ensure_identity("6323")
        built: list[object] = []
        for cls in (Select, Update):
            init = cls.__init__

            def counted(self: Any, *args: Any, _init: Any = init, **kwargs: Any) -> None:
                built.append(self)
                _init(self, *args, **kwargs)

            monkeypatch.setattr(cls, "__init__", counted)
        before = db.generation
        with db.write(notify=False) as txn:
            txn.tick()
        assert built == []
        assert db.generation != before  # a bookkeeping commit counts too
        seen = db.generation
        with pytest.raises(RuntimeError), db.write():
            raise RuntimeError("rolled back")
        assert db.generation == seen  # nothing committed
    finally:
        db.dispose()
