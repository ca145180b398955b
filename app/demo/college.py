"""The demo college: its organisations, majors and the shape of their teaching plans (data only)."""
from __future__ import annotations

from dataclasses import dataclass

from app.statuses import Level

DEMO_PASSWORD = "Demo@2024"
DEMO_STUDENT_NO = "2020010001"
GRADES = (2019, 2020, 2021, 2022)

GQB, ZSB, GQZ = Level.HIGH_TO_BACHELOR, Level.JUNIOR_TO_BACHELOR, Level.HIGH_TO_JUNIOR
BACHELOR_LEVELS = (GQB, ZSB)

# --------------------------------------------------------------------------- organisations and majors

CE_ORG = ("JXJY", "继续教育学院")
COLLEGES = [("XY01", "管理学院"), ("XY02", "理学院"), ("XY03", "文学院"), ("XY04", "医学院")]
# (code, name, 身份证 region codes of the area): the list index + 1 is the site number in 学号.
SITES = [
    ("JXD01", "南通教学点", ("320602", "320612", "320621", "320623")),
    ("JXD02", "如皋教学点", ("320682",)),
    ("JXD03", "海门教学点", ("320684",)),
    ("JXD04", "启东教学点", ("320681",)),
    ("JXD05", "盐城教学点", ("320902", "320903", "320981", "320922")),
]
SITE_WEIGHTS = (0.30, 0.20, 0.17, 0.16, 0.17)


@dataclass(frozen=True)
class MajorSpec:
    """A major with the levels it is offered at and its course pools (required core first)."""

    code: str
    name: str
    college: str
    levels: tuple[Level, ...]
    prefix: str
    core: tuple[str, ...]
    electives: tuple[str, ...]
    maths: bool = True  # 高等数学 among the public courses
    female_share: float = 0.5


MAJORS = [
    MajorSpec(
        "120201K", "工商管理", "XY01", (GQB, ZSB, GQZ), "GL",
        ("管理学原理", "微观经济学", "会计学基础", "市场营销学", "财务管理", "人力资源管理", "组织行为学",
         "统计学", "经济法", "战略管理", "运营管理"),
        ("商务谈判", "电子商务概论", "企业文化", "公共关系学", "国际贸易实务", "管理沟通"),
    ),
    MajorSpec(
        "120203K", "会计学", "XY01", (GQB, ZSB, GQZ), "GL",
        ("会计学基础", "中级财务会计", "成本会计", "管理会计", "审计学", "财务管理", "税法", "经济法",
         "管理学原理", "高级财务会计", "统计学"),
        ("会计电算化", "财务报表分析", "资产评估", "证券投资学", "银行会计", "政府与非营利组织会计"),
        female_share=0.7,
    ),
    MajorSpec(
        "120206", "人力资源管理", "XY01", (ZSB,), "GL",
        ("管理学原理", "人力资源管理", "组织行为学", "劳动经济学", "劳动关系与劳动法", "薪酬管理", "绩效管理",
         "招聘与配置", "培训与开发"),
        ("员工关系管理", "职业生涯管理", "管理心理学", "商务礼仪", "管理沟通"),
        female_share=0.65,
    ),
    MajorSpec(
        "050101", "汉语言文学", "XY03", (GQB, ZSB), "WX",
        ("现代汉语", "古代汉语", "中国古代文学", "中国现代文学", "中国当代文学", "文学概论", "外国文学",
         "语言学概论", "写作", "美学"),
        ("中国文化概论", "秘书学", "比较文学", "民间文学", "儿童文学", "书法"),
        maths=False, female_share=0.75,
    ),
    MajorSpec(
        "070101", "数学与应用数学", "XY02", (ZSB,), "LX",
        ("数学分析", "高等代数", "解析几何", "常微分方程", "概率论与数理统计", "复变函数", "实变函数",
         "近世代数", "数值分析"),
        ("数学建模", "运筹学", "数学史", "离散数学", "拓扑学基础"),
        maths=False,
    ),
    MajorSpec(
        "080901", "计算机科学与技术", "XY02", (GQB, ZSB, GQZ), "LX",
        ("程序设计基础", "数据结构", "离散数学", "计算机组成原理", "操作系统", "计算机网络", "数据库原理",
         "软件工程", "面向对象程序设计", "编译原理"),
        ("Web前端开发", "Python程序设计", "人工智能导论", "信息安全概论", "移动应用开发", "云计算技术"),
        female_share=0.3,
    ),
    MajorSpec(
        "101101", "护理学", "XY04", (ZSB, GQZ), "YX",
        ("人体解剖学", "生理学", "病理学", "药理学", "基础护理学", "健康评估", "内科护理学", "外科护理学",
         "妇产科护理学", "儿科护理学", "护理管理学"),
        ("护理心理学", "社区护理学", "急危重症护理学", "老年护理学", "护理伦理学", "中医护理学"),
        maths=False, female_share=0.9,
    ),
]
MAJOR_BY_CODE = {m.code: m for m in MAJORS}
DEMO_MAJOR = "120201K"  # 工商管理 (管理学院): the demo student's major, so xy001 is 管理学院's admin
# The one (major, level, grade) that students use but that has no teaching plan: the audit says so.
NO_PLAN = ("070101", GQB, 2020)
LEVEL_WEIGHTS = {GQB: 0.30, ZSB: 0.50, GQZ: 0.20}

# Public courses per level: (name, credits); 高等数学 only for majors with ``maths``.
PUBLIC_COURSES = {
    GQB: [("思想道德与法治", 3), ("中国近现代史纲要", 2), ("马克思主义基本原理", 3),
          ("毛泽东思想和中国特色社会主义理论体系概论", 4), ("大学英语", 4), ("计算机应用基础", 3), ("高等数学", 4)],
    ZSB: [("马克思主义基本原理", 3), ("大学英语", 4), ("计算机应用基础", 2)],
    GQZ: [("思想道德与法治", 3), ("毛泽东思想和中国特色社会主义理论体系概论", 4), ("大学英语", 4),
          ("计算机应用基础", 3), ("高等数学", 4)],
}
# How many core and elective courses a plan takes from its major's pools.
PLAN_SHAPE = {GQB: (7, 5), ZSB: (7, 4), GQZ: (6, 4)}
FINAL_COURSE = {GQB: ("毕业论文", 5), ZSB: ("毕业论文", 5), GQZ: ("毕业实践", 4)}
