"""Origin seals through a relay, and signed directives (federation/origin.py; decision 0951):
a township altering a village's record in transit is caught at the county, with the records
projected for each level as federation/privacy does."""

import copy
import uuid
from typing import Any

import pytest

from federation.crypto import suite
from federation.origin import (
    SealBroken,
    check_directive,
    check_seal,
    leaf,
    seal_batch,
    sign_directive,
)
from federation.privacy.policy import DEFAULT_POLICY
from federation.privacy.projection import Projector
from tests.factories import person

VILLAGE, TOWNSHIP, COUNTY = "632322101201", "632322101", "632322"
KEY = b"k" * 32


@pytest.fixture(params=["default", "sm"])
def crypto(request: pytest.FixtureRequest) -> Any:
    return suite(request.param)


def records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "kind": "person",
            "unit": VILLAGE,
            "data": person(unit=VILLAGE)["data"],
            "version": f"{(1 << 50) + i:016x}.{VILLAGE}",
            "deleted": False,
            "schema_version": 1,
        }
        for i in range(n)
    ]


def projected(crypto: Any, level: str, recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    projector = Projector(DEFAULT_POLICY, level, crypto, KEY)
    return [r | {"data": projector.project(r["kind"], copy.deepcopy(r["data"]))} for r in recs]


def test_the_county_catches_a_township_altering_a_village_record(crypto: Any) -> None:
    key = crypto.generate_signing_key()
    batch = records(5)
    # The village seals, per ancestor level, the records as that level will hold them.
    seal = seal_batch(
        crypto,
        lambda message: crypto.sign(key, message),
        origin=VILLAGE,
        since=0,
        until=5,
        per_level={lvl: projected(crypto, lvl, batch) for lvl in ("township", "county")},
    )
    at_township = projected(crypto, "township", batch)
    check_seal(crypto, key.public, seal, level="township", records=at_township)
    # An honest township re-projects for the county: the county verifies the village's seal.
    at_county = projected(crypto, "county", at_township)
    check_seal(crypto, key.public, seal, level="county", records=at_county)
    # A compromised township changes one record on its way up: the county refuses the batch.
    forged = copy.deepcopy(at_county)
    forged[2]["data"]["name"] = "someone else"
    with pytest.raises(SealBroken, match=f"records of {VILLAGE} .* altered"):
        check_seal(crypto, key.public, seal, level="county", records=forged)
    # ...and with the leaves forwarded, the county names the record.
    leaves = {"county": [leaf(crypto, r).hex() for r in at_county]}
    named = type(seal)(seal.origin, seal.since, seal.until, seal.roots, seal.signature, leaves)
    with pytest.raises(SealBroken) as broken:
        check_seal(crypto, key.public, named, level="county", records=forged)
    assert broken.value.ids == [forged[2]["id"]]
    # Nor may the township re-sign the roots with a key of its own.
    other = crypto.generate_signing_key()
    resealed = seal_batch(
        crypto,
        lambda message: crypto.sign(other, message),
        origin=VILLAGE,
        since=0,
        until=5,
        per_level={"county": forged},
    )
    with pytest.raises(SealBroken, match="does not verify"):
        check_seal(crypto, key.public, resealed, level="county", records=forged)


def test_a_relay_forwarding_part_of_a_batch_sends_the_other_leaves(crypto: Any) -> None:
    key = crypto.generate_signing_key()
    batch = records(4)
    seal = seal_batch(
        crypto, lambda m: crypto.sign(key, m), origin=VILLAGE, since=0, until=4,
        per_level={"county": batch},
    )  # fmt: skip
    rest = [leaf(crypto, r) for r in batch[2:]]
    check_seal(crypto, key.public, seal, level="county", records=batch[:2], other_leaves=rest)
    with pytest.raises(SealBroken):
        check_seal(crypto, key.public, seal, level="county", records=batch[:2])


def test_a_directive_is_accepted_only_when_signed_by_an_ancestor(crypto: Any) -> None:
    county_key, township_key = crypto.generate_signing_key(), crypto.generate_signing_key()
    keys = {COUNTY: county_key.public, TOWNSHIP: township_key.public}
    directive = {
        "id": str(uuid.uuid4()),
        "version": f"{1 << 50:016x}.{COUNTY}",
        "deleted": False,
        "data": {"title": "Screening", "issuer": COUNTY, "target": {"units": [VILLAGE]}},
    }
    signed = sign_directive(lambda m: crypto.sign(county_key, m), directive)
    assert check_directive(crypto, keys, target=VILLAGE, record=directive, signature=signed) is None
    # A township issuing "from the county" signs with its own key: refused below it.
    posing = sign_directive(lambda m: crypto.sign(township_key, m), directive)
    refusal = check_directive(crypto, keys, target=VILLAGE, record=directive, signature=posing)
    assert refusal and "not signed by its issuer 632322" in refusal
    # An altered directive no longer verifies; a sibling's is not an ancestor's.
    changed = directive | {"data": directive["data"] | {"title": "Cancelled"}}
    assert check_directive(crypto, keys, target=VILLAGE, record=changed, signature=signed)
    sibling = directive | {"version": f"{1 << 50:016x}.632322101202"}
    assert "not an ancestor" in str(
        check_directive(crypto, keys, target=VILLAGE, record=sibling, signature=signed)
    )
