"""Registers as the centres keep them: sheet names, column headers and cell values in Chinese
(or the fields' own English names), per kind. The first Chinese name of each is what an export
writes; every name listed is understood on import."""

from schemas.kinds import Kind

SHEETS: dict[Kind, tuple[str, ...]] = {
    Kind.person: ("实有人口", "人口"),
    Kind.household: ("房屋", "住户"),
    Kind.key_person: ("重点人群",),
    Kind.organization: ("非公经济组织", "组织"),
    Kind.governance_org: ("综治组织",),
    Kind.grid: ("网格",),
    Kind.incident: ("事件",),
    Kind.dispute: ("矛盾纠纷", "纠纷"),
    Kind.patrol: ("巡查",),
    Kind.legal_activity: ("法律服务", "普法活动"),
}

ENVELOPE: dict[str, tuple[str, ...]] = {
    "id": ("编号", "记录编号"),
    "unit": ("单位代码", "所属单位", "单位"),
    "kind": ("记录类型",),
}

_GRID = ("网格编码", "网格")
COLUMNS: dict[Kind, dict[str, tuple[str, ...]]] = {
    Kind.person: {
        "id_number": ("身份证号", "公民身份号码", "身份证号码"),
        "name": ("姓名",),
        "sex": ("性别",),
        "birth_date": ("出生日期",),
        "ethnicity": ("民族",),
        "household_id": ("户编号",),
        "grid": _GRID,
        "phone": ("联系电话", "电话", "手机号"),
        "status": ("人口状态", "状态"),
    },
    Kind.household: {
        "address": ("地址", "住址", "房屋地址"),
        "head_name": ("户主姓名", "户主"),
        "head_id_number": ("户主身份证号",),
        "grid": _GRID,
        "member_count": ("家庭人数", "人数", "成员数"),
        "house_type": ("房屋类型", "类型"),
    },
    Kind.key_person: {
        "id_number": ("身份证号", "公民身份号码", "身份证号码"),
        "name": ("姓名",),
        "category": ("人员类别", "类别"),
        "risk_level": ("风险等级",),
        "responsible_worker": ("责任网格员", "责任人"),
        "grid": _GRID,
        "since": ("列管日期",),
        "note": ("备注",),
    },
    Kind.organization: {
        "name": ("名称", "单位名称"),
        "org_type": ("组织类型", "类型"),
        "unified_credit_code": ("统一社会信用代码",),
        "address": ("地址",),
        "grid": _GRID,
        "employees": ("从业人数", "员工人数"),
        "legal_rep": ("法定代表人", "负责人"),
    },
    Kind.governance_org: {
        "name": ("名称",),
        "org_type": ("组织类型", "类型"),
        "members": ("成员",),
        "founded": ("成立日期",),
    },
    Kind.grid: {
        "code": ("网格编码", "网格代码"),
        "name": ("网格名称", "名称"),
        "leader": ("网格长",),
        "members": ("网格员",),
        "leader_phone": ("网格长电话",),
        "households": ("户数",),
    },
    Kind.incident: {
        "category": ("事件类别", "类别"),
        "title": ("标题", "事件标题"),
        "description": ("描述", "事件描述"),
        "status": ("办理状态", "状态"),
        "reported_at": ("上报时间",),
        "reporter": ("上报人",),
        "grid": _GRID,
        "resolved_at": ("办结时间",),
    },
    Kind.dispute: {
        "case_no": ("案件编号", "案号"),
        "category": ("纠纷类别", "类别"),
        "parties": ("当事人",),
        "accepted_on": ("受理日期",),
        "status": ("调解状态", "状态"),
        "mediator": ("调解员",),
        "judicial_confirmation": ("司法确认",),
        "amount_recovered_yuan": ("挽回经济损失（元）", "挽回经济损失(元)", "挽回金额"),
        "closed_on": ("结案日期",),
    },
    Kind.patrol: {
        "grid": _GRID,
        "patrol_type": ("巡查类型", "类型"),
        "worker": ("巡查人", "网格员"),
        "visited_at": ("巡查时间",),
        "households_visited": ("走访户数",),
        "findings": ("发现问题", "情况"),
    },
    Kind.legal_activity: {
        "title": ("活动名称", "标题"),
        "activity_type": ("活动类型", "类型"),
        "held_on": ("活动日期", "日期"),
        "attendance": ("参加人数", "人数"),
        "place": ("地点",),
    },
}

_OTHER = {"其他": "other"}
LABELS: dict[tuple[Kind | None, str], dict[str, str]] = {
    (None, "sex"): {"男": "male", "女": "female"},
    (Kind.person, "status"): {
        "户籍": "registered",
        "户籍人口": "registered",
        "常住": "registered",
        "流动": "floating",
        "流动人口": "floating",
        "迁出": "moved_out",
        "死亡": "deceased",
    },
    (Kind.household, "house_type"): {
        "自有": "owned",
        "租赁": "rented",
        "集体": "collective",
        **_OTHER,
    },
    (Kind.key_person, "category"): {
        "社区矫正": "community_correction",
        "刑满释放": "released_prisoner",
        "戒毒康复": "drug_rehabilitation",
        "严重精神障碍": "severe_mental_disorder",
        "重点青少年": "key_youth",
        "信访": "petitioner",
        **_OTHER,
    },
    (Kind.key_person, "risk_level"): {"低": "low", "中": "medium", "高": "high"},
    (Kind.organization, "org_type"): {
        "企业": "enterprise",
        "个体工商户": "individual_business",
        "社会组织": "social_organization",
        **_OTHER,
    },
    (Kind.governance_org, "org_type"): {
        "综治中心": "centre",
        "调解委员会": "mediation_committee",
        "治安巡逻队": "security_patrol",
        "法律服务站": "legal_service_station",
        "服务岗": "service_post",
        **_OTHER,
    },
    (Kind.incident, "category"): {
        "安全隐患": "hazard",
        "矛盾纠纷线索": "dispute_clue",
        "治安": "public_security",
        "信访": "petition",
        "火灾": "fire",
        **_OTHER,
    },
    (Kind.incident, "status"): {
        "已上报": "reported",
        "已受理": "accepted",
        "办理中": "handling",
        "已办结": "resolved",
        "已关闭": "closed",
    },
    (Kind.dispute, "status"): {
        "已受理": "accepted",
        "调解中": "mediating",
        "调解成功": "mediated",
        "调解失败": "failed",
        "已移交": "referred",
    },
    (Kind.patrol, "patrol_type"): {"日常巡查": "basic", "基础巡查": "basic", "排查": "screening"},
    (Kind.legal_activity, "activity_type"): {
        "普法宣传": "publicity",
        "法律咨询": "consultation",
        "法律援助": "legal_aid",
        "培训": "training",
        **_OTHER,
    },
}
YES_NO = {"是": True, "否": False}


def sheet_kind(name: str) -> Kind | None:
    """The kind a sheet holds, by its Chinese or English name."""
    name = name.strip()
    for kind, names in SHEETS.items():
        if name == kind.value or name in names:
            return kind
    return None


def field_of(kind: Kind | None, header: str) -> str:
    """The envelope or data field a column header names (unknown headers are kept as written:
    the kind's validation then names them)."""
    header = header.strip()
    for name, labels in ENVELOPE.items():
        if header == name or header in labels:
            return name
    if kind is not None:
        for name, labels in COLUMNS.get(kind, {}).items():
            if header == name or header in labels:
                return name
    return header


def labels_of(kind: Kind, field: str) -> dict[str, str]:
    return LABELS.get((kind, field)) or LABELS.get((None, field)) or {}


def header_of(kind: Kind, field: str, lang: str) -> str:
    """The column header an export writes: the first Chinese name, or the field's own name."""
    if lang != "zh":
        return field
    names = ENVELOPE.get(field) or COLUMNS.get(kind, {}).get(field)
    return names[0] if names else field


def sheet_of(kind: Kind, lang: str) -> str:
    return SHEETS[kind][0] if lang == "zh" and kind in SHEETS else kind.value
