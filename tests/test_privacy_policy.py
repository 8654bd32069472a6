"""The privacy policy (federation/privacy): the default table, projections that keep every
view figure exact, monotone projections, and policies refused at start with the reason."""

from pathlib import Path
from typing import Any

import orjson
import pytest

from federation.crypto import suite
from federation.privacy import DEFAULT_POLICY, LEVELS, Policy, PolicyError, Projector, load_policy
from federation.privacy.policy import DEFAULT_SPEC, Treatment
from node.errors import Unavailable
from node.seed import records_for
from node.settings import Settings
from node.views.features import features, grid_entry, patrol_visit
from node.wiring import open_node
from schemas.kinds import Kind, example_data

KEY = b"k" * 32
VILLAGE = "632322101201"


def projector(level: str, policy: Policy = DEFAULT_POLICY, name: str = "default") -> Projector:
    return Projector(policy, level, suite(name), KEY)


def demo_records() -> list[dict]:
    records = list(records_for("demo", VILLAGE, seed=3))
    records += [{"kind": k.value, "data": example_data(k.value)} for k in Kind]
    return records


@pytest.mark.parametrize("level", LEVELS)
def test_every_view_figure_is_the_same_from_the_projection(level: str) -> None:
    """What node/views counts of a record is unchanged by the projection at every level."""
    project = projector(level).project
    for record in demo_records():
        kind, data = record["kind"], record["data"]
        held = project(kind, data)
        assert features(kind, held) == features(kind, data), (level, kind)
        assert grid_entry(kind, held) == grid_entry(kind, data)
        assert patrol_visit(kind, held) == patrol_visit(kind, data)


def test_default_policy_minimises_per_level() -> None:
    person = example_data("person")
    town = projector("township").project("person", person)
    county = projector("county").project("person", person)
    assert town["id_number"].startswith("h:") and town["id_number"].endswith(":0035")
    assert person["id_number"] not in str(town) and "phone" not in town
    assert town["birth_date"] == "1988" and town["name"] == person["name"]
    assert county["name"] == "才***"
    key_person = projector("county").project("key_person", example_data("key_person"))
    assert set(key_person) == {"category", "risk_level", "grid"}
    assert example_data("person") == person  # the input is left as it was


@pytest.mark.parametrize("level", LEVELS[1:])
def test_projections_are_monotone(level: str) -> None:
    """A relay re-projecting what it holds sends what the owner would have sent."""
    below = projector(LEVELS[LEVELS.index(level) - 1])
    here = projector(level)
    for record in demo_records():
        kind, data = record["kind"], record["data"]
        assert here.project(kind, below.project(kind, data)) == here.project(kind, data)


def test_keyed_hash_is_the_same_for_the_same_key_and_suite_only() -> None:
    person = example_data("person")
    one = projector("township").project("person", person)["id_number"]
    assert projector("county").project("person", person)["id_number"] == one
    other = Projector(DEFAULT_POLICY, "township", suite("default"), b"x" * 32)
    assert other.project("person", person)["id_number"] != one
    assert projector("township", name="sm").project("person", person)["id_number"] != one


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("kind", ["person", "key_person"])
def test_a_stored_id_hash_projects_as_hashing_the_id_number_again(
    level: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox hands the projection the ID hash the record was stored with (same key):
    the result is the one a fresh HMAC gives, and no HMAC is computed for it."""
    from federation.privacy.projection import id_hash

    data = {**example_data(kind), "id_number": "63232219900101003x"}
    stored = id_hash(suite("default"), KEY, data["id_number"])
    fresh = projector(level).project(kind, data)
    hashing = projector(level)
    monkeypatch.setattr(hashing, "hash_of", lambda _value: pytest.fail("hashed again"))
    assert hashing.project(kind, data, id_hash=stored) == fresh
    assert hashing.project(kind, {**data, "id_number": fresh.get("id_number", "h:0")},
                           id_hash=stored) == projector(level).project(
        kind, {**data, "id_number": fresh.get("id_number", "h:0")})  # fmt: skip


@pytest.mark.parametrize("applied", LEVELS)
def test_projecting_only_what_differs_from_a_level_below_gives_the_full_projection(
    applied: str,
) -> None:
    """`Projector(..., applied=L)` skips the fields a level treats as L does (the origin's
    seals project the outgoing wire for each level above): on L's output it gives exactly
    what the full projection of the level gives, for every kind of the demo."""
    above = LEVELS[LEVELS.index(applied) :]
    for level in above:
        partial = Projector(DEFAULT_POLICY, level, suite("default"), KEY, applied=applied)
        for record in demo_records():
            kind, data = record["kind"], record["data"]
            held_below = projector(applied).project(kind, data)
            assert partial.project(kind, held_below) == projector(level).project(kind, data)


def test_a_policy_file_widens_a_field_for_the_township(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[person]\nphone = { county = "drop" }\nname = "mask"\n')
    policy = load_policy(path)
    assert policy.treatment("person", "phone", "township") is Treatment.clear
    assert policy.treatment("person", "phone", "county") is Treatment.drop
    assert policy.treatment("person", "name", "township") is Treatment.mask
    assert policy.treatment("person", "id_number", "county") is Treatment.hash_last4  # default


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[persn]\nname = "mask"', "persn: unknown kind"),
        ('[person]\nnam = "mask"', "person.nam: unknown field of person"),
        ('[person]\nsex = { county = "drop" }', "person.sex: drop at the county takes from"),
        ('[person]\nbirth_date = "drop"', "person.birth_date: drop at the township takes"),
        ('[person]\nphone = { township = "drop", county = "clear" }', "would show more"),
        ('[person]\nname = { village = "mask" }', "a village holds its own records in clear"),
        ('[person]\nname = "scramble"', "unknown treatment 'scramble'"),
        ('[household]\nmember_count = "hash"', "hash does not fit a other field"),
        ("[person\n", "not valid TOML"),
    ],
)
def test_a_bad_policy_is_refused_with_the_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert reason in str(caught.value)


def test_a_json_policy_and_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"grid": {"leader_phone": {"county": "drop"}}}')
    assert load_policy(path).treatment("grid", "leader_phone", "township") is Treatment.clear
    with pytest.raises(PolicyError, match="cannot read the file"):
        load_policy(tmp_path / "absent.toml")


def test_a_node_with_a_bad_policy_refuses_to_start_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[key_person]\ncategory = { county = "drop" }')
    settings = Settings(code=VILLAGE, data_dir=tmp_path / "v", privacy_policy=path)
    with pytest.raises(Unavailable) as caught:
        open_node(settings)
    assert "key_person.category" in [d.field for d in caught.value.details]
    assert not (tmp_path / "v" / "tiersync.db").exists()


def test_the_top_node_makes_the_prefectures_hash_key_at_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIERSYNC_HASH_KEY")
    ctx = open_node(Settings(code="6323", data_dir=tmp_path / "p"))
    ctx.db.dispose()
    key_file = tmp_path / "p" / "hash.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(bytes.fromhex(key_file.read_text())) == 32
    again = open_node(Settings(code="6323", data_dir=tmp_path / "p"))  # kept, not remade
    again.db.dispose()

    def hash_key_id(node: Any) -> str:
        (section,) = [s for s in node.push_sections if s.name == "hash_key_id"]
        return str(section.key_id)

    assert hash_key_id(again) == hash_key_id(ctx)


def test_the_default_table_is_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for kind, path, chain in DEFAULT_POLICY.table():
        assert f"| {kind} | `{path}` | {' | '.join(chain)} |" in readme, (kind, path)
    assert set(DEFAULT_SPEC) <= {k.value for k in Kind}


@pytest.mark.parametrize("level", LEVELS)
def test_projecting_in_place_gives_the_copy_s_result_and_changes_only_the_given_dict(
    level: str,
) -> None:
    """The outbox projects the data dict it has just opened for the read `in_place`: the same
    result as the copying projection, for every kind of the demo (nested paths too); without
    `in_place` the input is left as it was."""
    project = projector(level).project
    for record in demo_records():
        kind, data = record["kind"], record["data"]
        before = orjson.loads(orjson.dumps(data))
        copied = project(kind, data)
        assert data == before, kind  # the copying projection leaves its input alone
        own = orjson.loads(orjson.dumps(data))
        held = project(kind, own, in_place=True)
        assert held == copied, (level, kind)
        assert held is own or kind not in projector(level).kinds, kind
