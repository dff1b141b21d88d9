"""The national code tables the import files use, with the labels people write in them.

Files from department systems carry either the code of a national standard (GB/T 2261.1 sex,
GB/T 2261.2 marital status, GB/T 3304 ethnic groups) or its Chinese label, sometimes shortened
(男 for 男性, 汉 for 汉族). These tables are file formats, not interface text: they are Chinese
whatever the interface language, like the column headers of the templates. Each ``*_ALIASES``
maps every accepted spelling (stripped, lower-cased for Latin letters) to the stored code.
"""

from __future__ import annotations

from tongban.basedata.choices import (
    EntityStatus,
    EntityType,
    Gender,
    IndicatorFrequency,
    LifeStatus,
    MaritalStatus,
)

# GB/T 3304-1991 中国各民族名称的罗马字母拼写法和代码: code, name.
ETHNICITIES: tuple[tuple[str, str], ...] = (
    ("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"),
    ("06", "苗族"), ("07", "彝族"), ("08", "壮族"), ("09", "布依族"), ("10", "朝鲜族"),
    ("11", "满族"), ("12", "侗族"), ("13", "瑶族"), ("14", "白族"), ("15", "土家族"),
    ("16", "哈尼族"), ("17", "哈萨克族"), ("18", "傣族"), ("19", "黎族"), ("20", "傈僳族"),
    ("21", "佤族"), ("22", "畲族"), ("23", "高山族"), ("24", "拉祜族"), ("25", "水族"),
    ("26", "东乡族"), ("27", "纳西族"), ("28", "景颇族"), ("29", "柯尔克孜族"), ("30", "土族"),
    ("31", "达斡尔族"), ("32", "仫佬族"), ("33", "羌族"), ("34", "布朗族"), ("35", "撒拉族"),
    ("36", "毛南族"), ("37", "仡佬族"), ("38", "锡伯族"), ("39", "阿昌族"), ("40", "普米族"),
    ("41", "塔吉克族"), ("42", "怒族"), ("43", "乌孜别克族"), ("44", "俄罗斯族"), ("45", "鄂温克族"),
    ("46", "德昂族"), ("47", "保安族"), ("48", "裕固族"), ("49", "京族"), ("50", "塔塔尔族"),
    ("51", "独龙族"), ("52", "鄂伦春族"), ("53", "赫哲族"), ("54", "门巴族"), ("55", "珞巴族"),
    ("56", "基诺族"), ("97", "其他"), ("98", "外国血统中国籍人士"),
)  # fmt: skip
ETHNICITY_NAMES = dict(ETHNICITIES)

# GB/T 2261.1-2003 人的性别代码.
GENDER_LABELS: dict[str, str] = {
    Gender.UNKNOWN: "未知的性别",
    Gender.MALE: "男性",
    Gender.FEMALE: "女性",
    Gender.UNSTATED: "未说明的性别",
}
# GB/T 2261.2-2003 婚姻状况代码.
MARITAL_LABELS: dict[str, str] = {
    MaritalStatus.UNMARRIED: "未婚",
    MaritalStatus.MARRIED: "已婚",
    MaritalStatus.FIRST_MARRIAGE: "初婚",
    MaritalStatus.REMARRIED: "再婚",
    MaritalStatus.REMARRIED_SAME: "复婚",
    MaritalStatus.WIDOWED: "丧偶",
    MaritalStatus.DIVORCED: "离婚",
    MaritalStatus.UNSTATED: "未说明的婚姻状况",
}
LIFE_LABELS: dict[str, str] = {LifeStatus.ALIVE: "正常", LifeStatus.DECEASED: "死亡"}
ENTITY_TYPE_LABELS: dict[str, str] = {
    EntityType.COMPANY: "公司",
    EntityType.SOLE_PROPRIETOR: "个体工商户",
    EntityType.FARMER_COOPERATIVE: "农民专业合作社",
    EntityType.PUBLIC_INSTITUTION: "事业单位",
    EntityType.GOVERNMENT: "机关",
    EntityType.SOCIAL_ORGANISATION: "社会组织",
    EntityType.OTHER: "其他",
}
ENTITY_STATUS_LABELS: dict[str, str] = {
    EntityStatus.ACTIVE: "存续",
    EntityStatus.DEREGISTERED: "注销",
    EntityStatus.REVOKED: "吊销",
}
FREQUENCY_LABELS: dict[str, str] = {
    IndicatorFrequency.YEAR: "年度",
    IndicatorFrequency.QUARTER: "季度",
    IndicatorFrequency.MONTH: "月度",
}


def _aliases(labels: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """Every code maps to itself, every label and extra spelling to its code."""
    table: dict[str, str] = {}
    for code, label in labels.items():
        table[str(code)] = str(code)
        table[label] = str(code)
    for spelling, code in extra.items():
        table[spelling.lower()] = str(code)
    return table


GENDER_ALIASES = _aliases(
    GENDER_LABELS,
    {
        "男": Gender.MALE,
        "女": Gender.FEMALE,
        "m": Gender.MALE,
        "f": Gender.FEMALE,
        "male": Gender.MALE,
        "female": Gender.FEMALE,
        "未知": Gender.UNKNOWN,
        "未说明": Gender.UNSTATED,
    },
)
MARITAL_ALIASES = _aliases(
    MARITAL_LABELS,
    {
        "未说明": MaritalStatus.UNSTATED,
        "unmarried": MaritalStatus.UNMARRIED,
        "single": MaritalStatus.UNMARRIED,
        "married": MaritalStatus.MARRIED,
        "widowed": MaritalStatus.WIDOWED,
        "divorced": MaritalStatus.DIVORCED,
        "有配偶": MaritalStatus.MARRIED,
    },
)
LIFE_ALIASES = _aliases(
    LIFE_LABELS,
    {
        "alive": LifeStatus.ALIVE,
        "deceased": LifeStatus.DECEASED,
        "在世": LifeStatus.ALIVE,
        "健在": LifeStatus.ALIVE,
        "存活": LifeStatus.ALIVE,
        "生存": LifeStatus.ALIVE,
        "已故": LifeStatus.DECEASED,
        "去世": LifeStatus.DECEASED,
        "已死亡": LifeStatus.DECEASED,
    },
)
ETHNICITY_ALIASES: dict[str, str] = {}
for _code, _name in ETHNICITIES:
    ETHNICITY_ALIASES[_code] = _code
    ETHNICITY_ALIASES[str(int(_code))] = _code  # "1" for "01", as spreadsheets drop the zero
    ETHNICITY_ALIASES[_name] = _code
    if _name.endswith("族") and len(_name) >= 2:
        ETHNICITY_ALIASES[_name[:-1]] = _code  # 汉 for 汉族, 蒙古 for 蒙古族
ETHNICITY_ALIASES["穿青人"] = "97"  # recorded as 其他 by the national registration rules

ENTITY_TYPE_ALIASES = _aliases(
    ENTITY_TYPE_LABELS,
    {
        "有限责任公司": EntityType.COMPANY,
        "股份有限公司": EntityType.COMPANY,
        "企业": EntityType.COMPANY,
        "个体": EntityType.SOLE_PROPRIETOR,
        "合作社": EntityType.FARMER_COOPERATIVE,
        "党政机关": EntityType.GOVERNMENT,
        "机关法人": EntityType.GOVERNMENT,
        "事业单位法人": EntityType.PUBLIC_INSTITUTION,
        "社会团体": EntityType.SOCIAL_ORGANISATION,
        "民办非企业单位": EntityType.SOCIAL_ORGANISATION,
        "社会服务机构": EntityType.SOCIAL_ORGANISATION,
        "基金会": EntityType.SOCIAL_ORGANISATION,
        "个人独资企业": EntityType.OTHER,
        "合伙企业": EntityType.OTHER,
    },
)
ENTITY_STATUS_ALIASES = _aliases(
    ENTITY_STATUS_LABELS,
    {
        "在业": EntityStatus.ACTIVE,
        "在营": EntityStatus.ACTIVE,
        "开业": EntityStatus.ACTIVE,
        "存续（在营、开业、在册）": EntityStatus.ACTIVE,
        "正常": EntityStatus.ACTIVE,
        "已注销": EntityStatus.DEREGISTERED,
        "吊销未注销": EntityStatus.REVOKED,
        "吊销，未注销": EntityStatus.REVOKED,
        "已吊销": EntityStatus.REVOKED,
        "撤销": EntityStatus.REVOKED,
    },
)
FREQUENCY_ALIASES = _aliases(
    FREQUENCY_LABELS,
    {
        "年": IndicatorFrequency.YEAR,
        "年报": IndicatorFrequency.YEAR,
        "季": IndicatorFrequency.QUARTER,
        "季报": IndicatorFrequency.QUARTER,
        "月": IndicatorFrequency.MONTH,
        "月报": IndicatorFrequency.MONTH,
        "yearly": IndicatorFrequency.YEAR,
        "quarterly": IndicatorFrequency.QUARTER,
        "monthly": IndicatorFrequency.MONTH,
    },
)


def entity_type_of_credit_code(code: str) -> str:
    """The kind of subject, from a credit code's registration authority and category (GB 32100 digits 1-2)."""
    head = code[:2]
    if head == "11":
        return EntityType.GOVERNMENT
    if head == "12":
        return EntityType.PUBLIC_INSTITUTION
    if head == "91":
        return EntityType.COMPANY
    if head == "92":
        return EntityType.SOLE_PROPRIETOR
    if head == "93":
        return EntityType.FARMER_COOPERATIVE
    if head[:1] == "5" or head == "13":
        return EntityType.SOCIAL_ORGANISATION
    return EntityType.OTHER
