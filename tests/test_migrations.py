"""Alembic migrations on SQLite and PostgreSQL: what an operator upgrading a node relies on."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, String, inspect, select

from node import migrate
from node.models import NAMING_CONVENTION, Base, NodeState
from node.records.store import store_versions
from node.tables import metadata as every_table
from tests.storage_fixtures import (
    VILLAGE,
    Databases,
    alembic_downgrade,
    alembic_upgrade_to,
    local_version,
    open_databases,
)

PERSON = {"id_number": "x", "name": "Tashi", "birth_date": "1980-05-01", "ethnicity": "tibetan"}
GRID = {"code": VILLAGE + "001", "name": "Grid 1", "members": ["a", "b"]}
PATROL = {
    "grid": VILLAGE + "001",
    "patrol_type": "basic",
    "visited_at": "2026-11-20T10:00:00+08:00",
    "households_visited": 7,
}
DISPUTE = {"status": "mediated", "accepted_on": "2026-10-02", "amount_recovered_yuan": "1200.50"}

MODEL_TABLES = set(every_table.tables)  # node.tables: the tables of every domain


@pytest.fixture
def databases(database_url_factory: Callable[[str], str]) -> Iterator[Databases]:
    yield from open_databases(database_url_factory)


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def schema_snapshot(engine: Engine) -> dict[str, Any]:
    """Tables with their columns (name, type, nullability), indexes and unique constraints."""
    insp = inspect(engine)
    snapshot: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        snapshot[table] = (
            [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)],
            sorted((i["name"] or "", tuple(i["column_names"])) for i in insp.get_indexes(table)),
            sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in insp.get_unique_constraints(table)
            ),
            insp.get_pk_constraint(table)["constrained_columns"],
        )
    return snapshot


def drift(engine: Engine, metadata: MetaData) -> list[Any]:
    """What `alembic revision --autogenerate` would put in a new migration."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": conn.dialect.name == "sqlite",
            },
        )
        return list(compare_metadata(context, metadata))


def test_there_is_one_head_and_a_linear_history() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, "several migration heads: merge them"
    assert len(script.get_bases()) == 1


def test_upgrade_of_an_empty_database_creates_every_model_table(databases: Databases) -> None:
    db = databases.open(migrate_first=False, identify=False)
    assert not table_names(db.engine) & MODEL_TABLES
    assert migrate.current_revision(db.engine) is None

    migrate.upgrade(db.engine)

    assert table_names(db.engine) == MODEL_TABLES | {"alembic_version"}
    head = migrate.head_revision(db.engine)
    assert head is not None and migrate.current_revision(db.engine) == head
    # Usable straight away: the node can take its identity.
    db.ensure_identity(VILLAGE)


def test_upgrading_twice_is_a_no_op(databases: Databases) -> None:
    db = databases.open()  # migrated, node_state row written
    before = schema_snapshot(db.engine)
    revision = migrate.current_revision(db.engine)

    migrate.upgrade(db.engine)

    assert schema_snapshot(db.engine) == before
    assert migrate.current_revision(db.engine) == revision
    with db.read() as conn:
        assert conn.execute(select(NodeState.code)).scalars().all() == [VILLAGE]


def test_downgrade_to_base_then_upgrade_again(databases: Databases) -> None:
    db = databases.open(identify=False)
    migrated = schema_snapshot(db.engine)

    alembic_downgrade(db.engine, "base")
    assert not table_names(db.engine) & MODEL_TABLES
    assert migrate.current_revision(db.engine) is None

    migrate.upgrade(db.engine)
    assert schema_snapshot(db.engine) == migrated
    assert migrate.current_revision(db.engine) == migrate.head_revision(db.engine)
    db.ensure_identity(VILLAGE)


def test_every_revision_upgrades_and_downgrades_one_step_at_a_time(databases: Databases) -> None:
    db = databases.open(migrate_first=False, identify=False)
    script = ScriptDirectory.from_config(migrate.alembic_config(str(db.engine.url)))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        alembic_upgrade_to(db.engine, revision)
        assert migrate.current_revision(db.engine) == revision
    for revision in reversed(revisions):
        assert migrate.current_revision(db.engine) == revision
        alembic_downgrade(db.engine, "-1")
    assert migrate.current_revision(db.engine) is None
    assert not table_names(db.engine) & MODEL_TABLES


def test_models_and_migrations_do_not_drift(databases: Databases) -> None:
    """A model change without a migration (or the other way round) fails here, on each engine."""
    db = databases.open(identify=False)
    assert drift(db.engine, Base.metadata) == []


def test_drift_check_notices_a_column_added_without_a_migration(databases: Databases) -> None:
    """The drift check above is not vacuous: the same comparison sees a model-only change."""
    db = databases.open(identify=False)
    changed = MetaData(naming_convention=NAMING_CONVENTION)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["records"].append_column(Column("added_later", String(20), nullable=True))
    changed.tables["view_rollup"].c.n.type = Integer()  # BigInteger in the migration

    differences = drift(db.engine, changed)

    added = [d for d in differences if isinstance(d, tuple) and d[0] == "add_column"]
    assert [(d[2], d[3].name) for d in added] == [("records", "added_later")]
    type_changes = [
        op for d in differences if isinstance(d, list) for op in d if op[0] == "modify_type"
    ]
    assert [(op[2], op[3]) for op in type_changes] == [("view_rollup", "n")]


DERIVED = ("view_rollup", "view_grids", "view_patrol_visits", "ops_digests")


def derived_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            name: sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {name}"))
            for name in DERIVED
        }


def test_upgrading_a_node_that_holds_records_derives_what_the_write_hooks_keep(
    databases: Databases,
) -> None:
    """The data steps of 0201 (roll-ups) and 0301 (digests) are frozen copies: upgrading a node
    that held records before them gives exactly the rows the live write hooks keep."""
    db = databases.open()
    with db.write() as txn:
        versions = [
            local_version(txn, kind="person", unit=VILLAGE + "001", data=dict(PERSON, sex=sex))
            for sex in ("male", "female", "female")
        ]
        versions.append(local_version(txn, kind="grid", data=GRID))
        versions.append(local_version(txn, kind="patrol", unit=VILLAGE + "001", data=PATROL))
        versions.append(local_version(txn, kind="dispute", data=DISPUTE))
        versions.append(local_version(txn, deleted=True))
        store_versions(txn, versions)
    kept = derived_rows(db.engine)
    assert all(kept[name] for name in DERIVED)

    alembic_downgrade(db.engine, "0101")  # back to before the views and the digests
    assert not table_names(db.engine) & set(DERIVED)
    migrate.upgrade(db.engine)

    assert derived_rows(db.engine) == kept
