"""The dashboard's message catalogue (node/static/messages.json) is complete: both languages
have the same keys, every key the page and its scripts use is there, every value the views can
send for an enumerated field has its label, and placeholders agree between the languages."""

import json
import re
from enum import StrEnum
from pathlib import Path

import pytest

from schemas.codes import Level
from schemas.common import Sex
from schemas.kinds.dispute import DisputeStatus
from schemas.kinds.governance_org import GovOrgType
from schemas.kinds.incident import IncidentCategory, IncidentStatus
from schemas.kinds.key_person import KeyCategory, RiskLevel
from schemas.kinds.legal_activity import ActivityType
from schemas.kinds.person import PersonStatus
from schemas.kinds.receipt import ReceiptState

STATIC = Path(__file__).resolve().parent.parent / "node" / "static"
CATALOGUE = json.loads((STATIC / "messages.json").read_text())
LANGS = ("zh-CN", "en")
ENUMS: dict[str, type[StrEnum]] = {
    "level": Level,
    "sex": Sex,
    "person_status": PersonStatus,
    "incident_category": IncidentCategory,
    "incident_status": IncidentStatus,
    "dispute_status": DisputeStatus,
    "risk": RiskLevel,
    "key_category": KeyCategory,
    "activity_type": ActivityType,
    "org_type": GovOrgType,
    "receipt_state": ReceiptState,
}
# Keys named in the markup and scripts: data-i18n="…" attributes and t("…") calls with a literal.
USES = [
    (r'data-i18n(?:-title|-aria)?="([^"]+)"', ("dashboard.html",)),
    (r'\bt\(\s*"([a-z_.]+)"', tuple(f"js/{p.name}" for p in (STATIC / "js").glob("*.js"))),
    (r'\[\s*"(?:good|warn|bad|none|info)",\s*"([a-z_.]+)"\s*\]', ("js/panels.js",)),
]


# Keys the scripts build from parts (t(`notfound.${kind}.title`)…), with the values they take.
BUILT = {
    "notfound.${kind}.": [f"notfound.{k}.{p}" for k in ("missing", "outside", "invalid", "failed")
                          for p in ("title", "detail")],
    "live.state.${state}": [f"live.state.{s}" for s in ("connecting", "open", "closed", "refused")],
    "directives.col.${c}": [f"directives.col.{c}" for c in ("targets", "delivered", "acknowledged",
                                                           "done")],
    '"control.to_desk" : "control.to_wall"': ["control.to_desk", "control.to_wall"],
}  # fmt: skip


def used_keys() -> set[str]:
    found: set[str] = set()
    scripts = "".join((STATIC / "js" / p.name).read_text() for p in (STATIC / "js").glob("*.js"))
    for pattern, files in USES:
        for name in files:
            found |= set(re.findall(pattern, (STATIC / name).read_text()))
    for template, keys in BUILT.items():
        assert template in scripts, f"the scripts no longer build {template}: update BUILT"
        found |= set(keys)
    return found


def test_both_languages_have_the_same_keys() -> None:
    zh, en = (set(CATALOGUE[lang]) for lang in LANGS)
    assert zh - en == set(), "missing in English"
    assert en - zh == set(), "missing in Chinese"
    assert all(CATALOGUE[lang][key].strip() for lang in LANGS for key in zh), "empty message"


def test_every_key_the_page_uses_is_in_the_catalogue() -> None:
    used = used_keys()
    assert len(used) > 100  # the patterns do find the page's keys
    missing = sorted(used - set(CATALOGUE["zh-CN"]))
    assert missing == []


@pytest.mark.parametrize("group", sorted(ENUMS))
def test_every_value_of_an_enumerated_field_has_a_label(group: str) -> None:
    for value in ENUMS[group]:
        key = f"enum.{group}.{value.value}"
        for lang in LANGS:
            assert key in CATALOGUE[lang], f"{lang}: {key}"


def test_age_bands_of_the_population_view_have_labels() -> None:
    from node.views.figures import AGE_BANDS

    for band, _low, _high in AGE_BANDS:
        assert all(f"enum.age_band.{band}" in CATALOGUE[lang] for lang in LANGS), band


def test_placeholders_agree_between_languages() -> None:
    for key, zh in CATALOGUE["zh-CN"].items():
        names = set(re.findall(r"\{(\w+)\}", zh))
        assert names == set(re.findall(r"\{(\w+)\}", CATALOGUE["en"][key])), key


def test_chinese_labels_use_the_proper_terms() -> None:
    zh = CATALOGUE["zh-CN"]
    assert "综治" in zh["app.platform"] and zh["kpi.grids"] == "网格"
    assert zh["kpi.key_groups"] == "重点人群" and zh["kpi.success_rate"] == "调解成功率"
    assert "网格员" in zh["kpi.grid_members_sub"] and "矛盾纠纷" in zh["kpi.disputes"]
    places = CATALOGUE["places"]["zh-CN"]
    assert places["Jianzha County"] == "尖扎县" and places["Hazang Village"] == "哈藏村"
