"""Demo data behind ``flask seed-demo``: a believable continuing-education college in one transaction.

Everything comes from one ``random.Random(seed)``, so the same seed gives the same students, numbers and
scores (only dates relative to today — batch windows, terms already taken — follow the calendar). Students,
grades and the other per-student rows go in through Core bulk inserts: 2,000 students with their grades
load in seconds on SQLite.

The fixed demo student ``2020010001`` (2020级 高起本, first teaching site) meets every graduation and degree
condition, so the whole workflow can be walked through with the accounts listed in ``DEMO_ACCOUNTS``.
"""
from __future__ import annotations

import datetime as dt
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from app import storage
from app.audit.scores import parse_score
from app.extensions import db
from app.models import (
    Account,
    DegreeApplication,
    DegreeBatch,
    GraduateForm,
    Grade,
    GraduationBatch,
    LanguageScore,
    Major,
    Organisation,
    PlanCourse,
    Student,
    TeachingPlan,
)
from app.services.accounts import create_account
from app.services.errors import DomainError
from app.statuses import (
    LEVEL_DURATION_YEARS,
    PASS_SCORE,
    CourseNature,
    DegreeConditionResult,
    EnrolmentStatus,
    ExamKind,
    FormState,
    Level,
    OrgKind,
    RoleName,
    StudyMode,
    SubstituteExam,
    label,
)

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

# --------------------------------------------------------------------------- people

SURNAMES = (
    "王王王王李李李李张张张张刘刘刘陈陈陈杨杨黄黄赵赵吴吴周周徐徐孙孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
    "肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛顾段雷侯龙史陶"
    "黎贺毛郝龚邵万钱严覃武戴莫孔向汤季缪施仇葛瞿陆"
)
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林洋阳峰建国志文晨诚博昊翔亮成东海兵"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪慧莹倩琳颖洁佳欣悦怡萍红梅琴云兰月璐瑶蕾晶妍露丹媛"
GIVEN_ANY = "子思雨嘉文一可心晓春秋德安小明新佳家梓宇"
ETHNICITIES = (("汉族", 0.965), ("回族", 0.01), ("满族", 0.006), ("蒙古族", 0.004), ("壮族", 0.005),
               ("土家族", 0.005), ("苗族", 0.005))
POLITICAL = (("群众", 0.70), ("共青团员", 0.22), ("中共党员", 0.06), ("中共预备党员", 0.02))
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "186", "187", "188",
                   "189", "198", "199")
STUDY_MODES = ((StudyMode.CORRESPONDENCE, 0.6), (StudyMode.SPARE_TIME, 0.3), (StudyMode.PART_TIME, 0.1))
AGE_RANGE = {GQB: (18, 32), ZSB: (21, 40), GQZ: (18, 30)}

SELF_ASSESSMENT = (
    ("始终坚持正确的政治方向，认真学习党的理论和方针政策，遵纪守法，思想上积极要求进步。",
     "拥护党的路线方针政策，认真学习习近平新时代中国特色社会主义思想，自觉遵守学校各项规章制度。",
     "思想端正，积极向上，关心时事政治，自觉遵守国家法律法规和学校纪律。"),
    ("学习上，我合理安排工作与学习时间，按时参加面授辅导，认真完成各门课程的作业和考试，系统掌握了本专业的基础理论和专业知识。",
     "在学习方面，我克服工学矛盾，坚持利用业余时间自学，积极参加线上学习和面授课程，各门课程均顺利通过考核。",
     "学习中我注重理论联系实际，把课堂上学到的知识运用到工作中，专业素养和分析解决问题的能力有了明显提高。"),
    ("工作中，我爱岗敬业，团结同事，把所学专业知识应用到实际工作中，得到了单位领导和同事的肯定。",
     "在单位里，我踏实肯干，认真负责，学以致用，业务水平不断提升。",
     "我积极参加班级活动，与老师和同学相处融洽，乐于帮助他人。"),
    ("当然，我也存在一些不足，如部分课程理解还不够深入，今后我将继续努力学习，争取更大的进步。",
     "回顾几年的学习生活，我收获很多，也认识到自己在理论深度上的不足，今后将继续加强学习，努力成为对社会有用的人才。",
     "今后我将以此为新的起点，保持学习的热情，不断完善自我。"),
)

# Accounts with the password DEMO_PASSWORD (username, name, role, org code, mobile); see seed_demo().
DEMO_ACCOUNTS = [
    ("jjy001", "周敏", RoleName.CE_ADMIN, "JXJY", "13962800001"),
    ("xy001", "陈立华", RoleName.COLLEGE_ADMIN, "XY01", "13962800011"),
    ("xy002", "刘建国", RoleName.COLLEGE_ADMIN, "XY02", "13962800012"),
    ("xy003", "王芳", RoleName.COLLEGE_ADMIN, "XY03", "13962800013"),
    ("xy004", "孙丽", RoleName.COLLEGE_ADMIN, "XY04", "13962800014"),
    ("jxd001", "张伟", RoleName.SITE_ADMIN, "JXD01", "13962800021"),
    ("jxd002", "李娜", RoleName.SITE_ADMIN, "JXD02", "13962800022"),
    ("jxd003", "黄磊", RoleName.SITE_ADMIN, "JXD03", "13962800023"),
    ("jxd004", "吴静", RoleName.SITE_ADMIN, "JXD04", "13962800024"),
    ("jxd005", "徐强", RoleName.SITE_ADMIN, "JXD05", "13962800025"),
]
OTHER_STUDENT_ACCOUNTS = 20

# --------------------------------------------------------------------------- small pure helpers

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of an 18-digit 身份证号 (GB 11643)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def id_card_is_valid(number: str) -> bool:
    """True when an 18-character 身份证号 has digits, a real birth date and the right check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return number[17].upper() == id_card_check_digit(number[:17])


def term_name(grade: int, k: int) -> str:
    """学期 of the k-th term (1-based) of a March intake: term 1 is the spring term ``(grade-1)-grade-2``."""
    if k % 2:
        start = grade - 1 + (k - 1) // 2
        return f"{start}-{start + 1}-2"
    start = grade + (k - 2) // 2
    return f"{start}-{start + 1}-1"


def term_end(grade: int, k: int) -> dt.date:
    """Last day of the k-th term: spring terms end in July, autumn terms in January."""
    if k % 2:
        return dt.date(grade + (k - 1) // 2, 7, 15)
    return dt.date(grade + k // 2, 1, 20)


def _second_saturday(year: int, month: int) -> dt.date:
    day = dt.date(year, month, 8)
    return day + dt.timedelta(days=(5 - day.weekday()) % 7)


def _pick(rng: random.Random, weighted):
    """One item of ``((item, weight), ...)``."""
    items, weights = zip(*weighted)
    return rng.choices(items, weights)[0]


def _word_for(score: float) -> str:
    if score >= 90:
        return "优"
    if score >= 80:
        return "良"
    if score >= 70:
        return "中"
    return "及格"


def demo_photo_bytes() -> bytes:
    """A small ID-style JPEG (blue background, a head and shoulders) shared by the demo students."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (150, 200), (67, 142, 219))
    draw = ImageDraw.Draw(img)
    draw.ellipse((20, 130, 130, 250), fill=(40, 44, 52))  # shoulders
    draw.polygon([(62, 132), (75, 160), (88, 132)], fill=(245, 245, 245))  # collar
    draw.rectangle((65, 105, 85, 135), fill=(235, 200, 170))  # neck
    draw.ellipse((45, 40, 105, 115), fill=(240, 205, 175))  # face
    draw.chord((43, 32, 107, 90), 180, 360, fill=(30, 30, 30))  # hair
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class _Course:
    code: str
    name: str
    credits: float
    required: bool
    degree: bool
    term: int


@dataclass
class _PlanSpec:
    courses: list[_Course]
    min_elective: float

    @property
    def min_total(self) -> float:
        return sum(c.credits for c in self.courses if c.required) + self.min_elective


@dataclass
class _StudentSpec:
    row: dict
    site: int  # 0-based site index
    plan: _PlanSpec  # the plan it follows (for the NO_PLAN students: a plan that is not stored)
    profile: str = "random"  # demo | ok | fail_required | fail_two | short_electives | random
    photo: bool = True
    form: str | None = FormState.SUBMITTED.value
    language: bool = False
    extra: dict = field(default_factory=dict)


class _Generator:
    """Draws every demo value from one Random in a fixed order."""

    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self._codes: dict[str, str] = {}
        self._next_code: dict[str, int] = defaultdict(int)
        self._id_cards: set[str] = set()

    # ---- plans
    def course_code(self, name: str, prefix: str) -> str:
        """One code per course name across majors, so shared courses (管理学原理 …) share their code."""
        if name not in self._codes:
            self._next_code[prefix] += 1
            self._codes[name] = f"{prefix}{self._next_code[prefix]:04d}"
        return self._codes[name]

    def plan_template(self, major: MajorSpec, level: Level) -> _PlanSpec:
        """Courses of a (major, level): public courses, core, electives and the final thesis/practice."""
        rng = self.rng
        terms = int(LEVEL_DURATION_YEARS[level] * 2)
        n_core, n_elective = PLAN_SHAPE[level]
        public = [(n, c) for n, c in PUBLIC_COURSES[level]
                  if (n != "高等数学" or major.maths) and not (n == "计算机应用基础" and major.code == "080901")]
        core_idx = sorted(rng.sample(range(len(major.core)), min(n_core, len(major.core))))
        # the first core courses are the discipline's foundations: keep the first one always
        if 0 not in core_idx:
            core_idx = [0] + core_idx[1:]
        core = [major.core[i] for i in core_idx]
        electives = rng.sample(major.electives, min(n_elective, len(major.electives)))
        bachelor = level in BACHELOR_LEVELS
        n_degree_core = rng.randint(1, 3) if bachelor else 0

        courses: list[_Course] = []
        public_terms = max(2, terms // 3)
        for i, (name, credits) in enumerate(public):
            courses.append(_Course(self.course_code(name, "GG"), name, credits, True,
                                   bachelor and name == "大学英语", 1 + i % public_terms))
        for i, name in enumerate(core):
            term = 1 + (i * (terms - 1)) // max(1, len(core)) + (1 if terms > 5 else 0)
            credits = rng.choice((3, 3, 3, 4, 4, 2, 5))
            courses.append(_Course(self.course_code(name, major.prefix), name, credits, True, i < n_degree_core,
                                   min(term, terms - 1)))
        for i, name in enumerate(electives):
            term = terms // 2 + i % max(1, terms - terms // 2 - 1)
            courses.append(_Course(self.course_code(name, major.prefix), name, rng.choice((2, 2, 3)), False,
                                   False, max(2, min(term, terms - 1))))
        final_name, final_credits = FINAL_COURSE[level]
        courses.append(_Course(self.course_code(final_name, "GG"), final_name, final_credits, True, False, terms))
        courses.sort(key=lambda c: (c.term, not c.required, c.code))
        elective_total = sum(c.credits for c in courses if not c.required)
        min_elective = max(4, min(rng.choice((4, 4, 5, 6, 6, 8)), elective_total - 2))
        assert 12 <= len(courses) <= 20, (major.name, level, len(courses))
        return _PlanSpec(courses, float(min_elective))

    # ---- people
    def name(self, female: bool) -> str:
        rng = self.rng
        surname = rng.choice(SURNAMES)
        own = GIVEN_FEMALE if female else GIVEN_MALE
        if rng.random() < 0.25:
            return surname + rng.choice(own)
        return surname + rng.choice(GIVEN_ANY + own) + rng.choice(own)

    def id_card(self, site: int, birth: dt.date, female: bool) -> str:
        rng = self.rng
        regions = SITES[site][2] if rng.random() < 0.85 else SITES[rng.randrange(len(SITES))][2]
        while True:
            seq = rng.randrange(0, 500) * 2 + (0 if female else 1)  # 顺序码: odd for men, even for women
            first17 = f"{rng.choice(regions)}{birth:%Y%m%d}{seq:03d}"
            number = first17 + id_card_check_digit(first17)
            if number not in self._id_cards:
                self._id_cards.add(number)
                return number

    def mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"

    def student_row(self, *, site: int, major: MajorSpec, level: Level, enrol: int, study: int,
                    status: EnrolmentStatus, female: bool | None = None) -> dict:
        rng = self.rng
        if female is None:
            female = rng.random() < major.female_share
        lo, hi = AGE_RANGE[level]
        age = min(hi, lo + int(abs(rng.gauss(0, (hi - lo) / 2.2))))
        birth = dt.date(enrol - age, 1, 1) + dt.timedelta(days=rng.randrange(365))
        return {
            "name": self.name(female),
            "gender": "女" if female else "男",
            "id_card": self.id_card(site, birth, female),
            "birth_date": birth,
            "ethnicity": _pick(rng, ETHNICITIES),
            "political_status": _pick(rng, POLITICAL),
            "mobile": self.mobile(),
            "enrol_grade": enrol,
            "study_grade": study,
            "level": level.value,
            "major_code": major.code,
            "study_mode": _pick(rng, STUDY_MODES).value,
            "duration_years": LEVEL_DURATION_YEARS[level],
            "status": status.value,
            "enrolled_on": dt.date(enrol, 3, 1),
            "passed_courses": 0,
            "earned_credits": 0.0,
        }

    def terms_done(self, row: dict) -> int:
        level = Level(row["level"])
        terms = int(LEVEL_DURATION_YEARS[level] * 2)
        done = sum(1 for k in range(1, terms + 1) if term_end(row["study_grade"], k) <= self.today)
        if row["status"] == EnrolmentStatus.WITHDRAWN.value:
            done //= 2
        return done

    # ---- grades
    def _pass_score(self, lo: int = 60) -> int:
        return max(lo, min(98, round(self.rng.gauss(79, 8))))

    def _grade(self, sid: int, course: _Course, term: str, kind: ExamKind, score: int, words: bool = True) -> dict:
        raw = str(score)
        if words and score >= PASS_SCORE and self.rng.random() < 0.10:
            raw = _word_for(score)
        return {"student_id": sid, "course_code": course.code, "course_name": course.name, "term": term,
                "score": parse_score(raw), "raw_score": raw, "exam_kind": kind.value}

    def attempts(self, sid: int, course: _Course, grade: int, done: int, outcome: str,
                 words: bool = True) -> list[dict]:
        """The exam attempts of one course: pass, pass at 补考, pass at 重修, or still failed."""
        rng = self.rng
        term = term_name(grade, course.term)
        if outcome == "pass":
            return [self._grade(sid, course, term, ExamKind.REGULAR, self._pass_score(), words)]
        if outcome == "demo":
            return [self._grade(sid, course, term, ExamKind.REGULAR, rng.randint(76, 93), False)]
        rows = [self._grade(sid, course, term, ExamKind.REGULAR, rng.randint(30, 59) if outcome != "fail"
                            else rng.randint(45, 59))]
        if outcome == "makeup":
            rows.append(self._grade(sid, course, term, ExamKind.MAKEUP, rng.randint(60, 78), words))
        elif outcome == "retake":
            if rng.random() < 0.5:
                rows.append(self._grade(sid, course, term, ExamKind.MAKEUP, rng.randint(40, 59)))
            retake_term = term_name(grade, min(course.term + 2, max(done, course.term)))
            rows.append(self._grade(sid, course, retake_term, ExamKind.RETAKE, rng.randint(60, 85), words))
        elif outcome == "fail" and rng.random() < 0.5:
            rows.append(self._grade(sid, course, term, ExamKind.MAKEUP, rng.randint(40, 59)))
        return rows

    def random_outcome(self, controlled: bool) -> str:
        """~6% of 正考 fail; most failures are made good at 补考 or 重修; uncontrolled ones may stay failed."""
        r = self.rng.random()
        if r < 0.94:
            return "pass"
        if r < 0.978:
            return "makeup"
        if r < 0.994 or controlled:
            return "retake"
        return "fail"

    def grades_for(self, sid: int, spec: _StudentSpec) -> list[dict]:
        rng = self.rng
        row = spec.row
        done = self.terms_done(row)
        plan = spec.plan
        required = [c for c in plan.courses if c.required]
        electives = [c for c in plan.courses if not c.required]
        rng.shuffle(electives)
        chosen, credits = [], 0.0
        for course in electives:
            if credits >= plan.min_elective:
                break
            chosen.append(course)
            credits += course.credits
        short = spec.profile == "short_electives" or (spec.profile == "random" and rng.random() < 0.02)
        if short and chosen:
            chosen.pop()  # one elective short of the minimum
        elif len(chosen) < len(electives) and rng.random() < 0.15:
            chosen.append(electives[len(chosen)])  # an extra elective
        failing: set[str] = set()
        last_term = max(c.term for c in required)  # the thesis / practice is not the course they fail
        candidates = [c for c in required if c.term <= done and c.term < last_term]
        if spec.profile == "fail_required" and candidates:
            failing = {rng.choice(candidates).code}
        elif spec.profile == "fail_two" and len(candidates) >= 2:
            failing = {c.code for c in rng.sample(candidates, 2)}
        rows: list[dict] = []
        controlled = spec.profile != "random"
        for course in sorted(required + chosen, key=lambda c: (c.term, c.code)):
            if course.term > done:
                continue
            if spec.profile == "demo":
                outcome = "demo"
            elif course.code in failing:
                outcome = "fail"
            else:
                outcome = self.random_outcome(controlled)
            rows.extend(self.attempts(sid, course, row["study_grade"], done, outcome))
        return rows

    def language_for(self, sid: int, spec: _StudentSpec) -> list[dict]:
        """学位外语: one sitting (score 40–90, sometimes a second one after a fail) or a CET-4 substitute."""
        rng = self.rng
        if spec.profile == "demo":
            return [{"student_id": sid, "exam_date": _second_saturday(2023, 5), "score": 72.0, "substitute": None,
                     "substitute_score": None, "passed": True}]
        first_year = spec.row["study_grade"] + 1
        sittings = [d for y in range(first_year, self.today.year + 1) for d in
                    (_second_saturday(y, 5), _second_saturday(y, 11)) if d <= self.today]
        if not sittings:
            return []
        if rng.random() < 0.12:
            cet = [d for y in range(spec.row["study_grade"], self.today.year + 1)
                   for d in (_second_saturday(y, 6), _second_saturday(y, 12)) if d <= self.today]
            return [{"student_id": sid, "exam_date": rng.choice(cet), "score": None,
                     "substitute": SubstituteExam.CET4.value, "substitute_score": float(rng.randint(425, 600)),
                     "passed": True}]
        rows = []
        i = rng.randrange(len(sittings))
        score = max(40, min(90, round(rng.gauss(68, 11))))
        rows.append({"student_id": sid, "exam_date": sittings[i], "score": float(score), "substitute": None,
                     "substitute_score": None, "passed": score >= 60})
        if score < 60 and i + 1 < len(sittings) and rng.random() < 0.5:
            again = max(40, min(90, round(rng.gauss(70, 8))))
            rows.append({"student_id": sid, "exam_date": sittings[i + 1], "score": float(again),
                         "substitute": None, "substitute_score": None, "passed": again >= 60})
        return rows

    def self_assessment(self, row: dict, major: str, full: bool) -> str:
        text = f"本人自{row['enrol_grade']}年3月入学以来，在{major}专业（{label(Level(row['level']))}）学习期间，"
        parts = SELF_ASSESSMENT if full else SELF_ASSESSMENT[:1]
        return text + "".join(self.rng.choice(options) for options in parts)


# --------------------------------------------------------------------------- writing


def has_data() -> bool:
    """True when the database already holds organisations (so a demo load would collide)."""
    return db.session.query(Organisation.id).first() is not None


def _shanghai_now() -> dt.datetime:
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    return dt.datetime.now(tz).replace(tzinfo=None)


def _counted(n: int, share: float) -> int:
    """How many of n get a trait of the given share; at least one, so small demos show every case."""
    return max(1, round(n * share)) if n else 0


def seed_demo(students: int = 2000, seed: int = 20240501) -> dict:
    """Load the demo college and commit.

    Args:
        students: Number of students (at least 20).
        seed: Seed of the one random generator all values come from.

    Returns:
        Counts of the rows written, keyed by table (organisations, majors, plans, students, grades, accounts …).

    Raises:
        DomainError: When the database already holds data.
    """
    if students < 20:
        raise ValueError("演示数据至少需要 20 名学生")
    if has_data():
        raise DomainError("数据库中已有数据，未加载演示数据")
    now_sh = _shanghai_now()
    today = now_sh.date()
    gen = _Generator(seed, today)
    rng = gen.rng

    # organisations
    ce = Organisation(code=CE_ORG[0], name=CE_ORG[1], kind=OrgKind.CE.value)
    db.session.add(ce)
    db.session.flush()
    orgs: dict[str, Organisation] = {ce.code: ce}
    for code, name in COLLEGES:
        orgs[code] = Organisation(code=code, name=name, kind=OrgKind.COLLEGE.value, parent_id=ce.id)
    for code, name, _regions in SITES:
        orgs[code] = Organisation(code=code, name=name, kind=OrgKind.SITE.value, parent_id=ce.id)
    db.session.add_all(list(orgs.values())[1:])
    db.session.flush()
    site_ids = [orgs[code].id for code, _n, _r in SITES]

    # majors and teaching plans
    majors: dict[str, Major] = {}
    for spec in MAJORS:
        majors[spec.code] = Major(code=spec.code, name=spec.name, college_id=orgs[spec.college].id)
    db.session.add_all(majors.values())
    db.session.flush()
    templates: dict[tuple[str, Level], _PlanSpec] = {}
    for spec in MAJORS:
        for level in spec.levels:
            templates[(spec.code, level)] = gen.plan_template(spec, level)
    no_plan_template = gen.plan_template(MAJOR_BY_CODE[NO_PLAN[0]], NO_PLAN[1])
    plan_rows, course_rows = [], []
    for (major_code, level), template in templates.items():
        for grade in GRADES:
            plan_rows.append({"major_id": majors[major_code].id, "level": level.value, "grade": grade,
                              "min_total_credits": template.min_total,
                              "min_elective_credits": template.min_elective})
    db.session.execute(TeachingPlan.__table__.insert(), plan_rows)
    plan_ids = {(m, lv, g): pid for pid, m, lv, g in db.session.execute(
        select(TeachingPlan.id, TeachingPlan.major_id, TeachingPlan.level, TeachingPlan.grade))}
    major_code_by_id = {m.id: code for code, m in majors.items()}
    for (major_id, level, grade), pid in sorted(plan_ids.items(), key=lambda kv: kv[1]):
        template = templates[(major_code_by_id[major_id], Level(level))]
        for course in template.courses:
            course_rows.append({"plan_id": pid, "course_code": course.code, "course_name": course.name,
                                "credits": float(course.credits),
                                "nature": (CourseNature.REQUIRED if course.required else CourseNature.ELECTIVE).value,
                                "is_degree_course": course.degree, "suggested_term": course.term})
    db.session.execute(PlanCourse.__table__.insert(), course_rows)

    # students: the demo student, the 2020级 高起本 cohort of the first site, the no-plan few, everyone else
    specs: list[_StudentSpec] = []
    demo_major = MAJOR_BY_CODE[DEMO_MAJOR]
    demo_row = gen.student_row(site=0, major=demo_major, level=GQB, enrol=2020, study=2020,
                               status=EnrolmentStatus.ENROLLED, female=False)
    demo_row["study_mode"] = StudyMode.CORRESPONDENCE.value
    specs.append(_StudentSpec(demo_row, 0, templates[(DEMO_MAJOR, GQB)], profile="demo", language=True))

    n_no_plan = 4
    n_cohort = min(students - 1 - n_no_plan, max(20, round(students * 0.04)))
    gqb_majors = [m for m in MAJORS if GQB in m.levels]
    profiles = (["fail_required"] * _counted(n_cohort, 0.08) + ["fail_two"] * _counted(n_cohort, 0.02)
                + ["short_electives"] * _counted(n_cohort, 0.05))
    profiles += ["ok"] * (n_cohort - len(profiles))
    rng.shuffle(profiles)
    no_photo = set(rng.sample(range(n_cohort), _counted(n_cohort, 0.08)))
    no_form = rng.sample(range(n_cohort), _counted(n_cohort, 0.08))
    draft_form = set(no_form[: (len(no_form) + 1) // 2])
    no_form = set(no_form) - draft_form
    not_enrolled = rng.sample(range(n_cohort), round(n_cohort * 0.03))
    for i in range(n_cohort):
        major = rng.choice(gqb_majors)
        status = EnrolmentStatus.ENROLLED
        if i in not_enrolled:
            status = EnrolmentStatus.SUSPENDED if not_enrolled.index(i) % 2 == 0 else EnrolmentStatus.WITHDRAWN
        row = gen.student_row(site=0, major=major, level=GQB, enrol=2020, study=2020, status=status)
        form = None if i in no_form else FormState.DRAFT.value if i in draft_form else FormState.SUBMITTED.value
        specs.append(_StudentSpec(row, 0, templates[(major.code, GQB)], profile=profiles[i],
                                  photo=i not in no_photo, form=form, language=rng.random() < 0.75))

    no_plan_major = MAJOR_BY_CODE[NO_PLAN[0]]
    for site in (0, 0, 1, 2)[:n_no_plan]:
        row = gen.student_row(site=site, major=no_plan_major, level=NO_PLAN[1], enrol=NO_PLAN[2],
                              study=NO_PLAN[2], status=EnrolmentStatus.ENROLLED)
        specs.append(_StudentSpec(row, site, no_plan_template, profile="ok", language=rng.random() < 0.7))

    by_level = {lv: [m for m in MAJORS if lv in m.levels] for lv in Level}
    for _ in range(students - len(specs)):
        level = _pick(rng, LEVEL_WEIGHTS.items())
        major = rng.choice(by_level[level])
        enrol = _pick(rng, zip(GRADES, (0.22, 0.26, 0.26, 0.26)))
        site = _pick(rng, zip(range(len(SITES)), SITE_WEIGHTS))
        if (enrol, level, site) == (2020, GQB, 0):
            site = rng.randrange(1, len(SITES))  # the first site's 2020级 高起本 cohort is built above
        study = enrol + 1 if enrol < GRADES[-1] and rng.random() < 0.03 else enrol  # 留级
        r = rng.random()
        status = (EnrolmentStatus.ENROLLED if r < 0.955 else
                  EnrolmentStatus.SUSPENDED if r < 0.98 else EnrolmentStatus.WITHDRAWN)
        row = gen.student_row(site=site, major=major, level=level, enrol=enrol, study=study, status=status)
        r = rng.random()
        form = FormState.SUBMITTED.value if r < 0.85 else FormState.DRAFT.value if r < 0.93 else None
        specs.append(_StudentSpec(row, site, templates[(major.code, level)], photo=rng.random() < 0.92,
                                  form=form, language=level in BACHELOR_LEVELS and rng.random() < 0.70))

    # 学号: YYYY + site number + sequence per (grade, site); the demo student comes first: 2020010001
    sequence: dict[tuple[int, int], int] = defaultdict(int)
    photo_path = storage.save("photos", demo_photo_bytes(), ".jpg")
    student_rows = []
    for spec in specs:
        row = spec.row
        key = (row["enrol_grade"], spec.site)
        sequence[key] += 1
        row["student_no"] = f"{row['enrol_grade']}{spec.site + 1:02d}{sequence[key]:04d}"
        major = majors[row.pop("major_code")]
        row["major_id"] = major.id
        row["college_id"] = major.college_id
        row["site_id"] = site_ids[spec.site]
        row["photo_path"] = photo_path if spec.photo else None
        student_rows.append(row)
    assert specs[0].row["student_no"] == DEMO_STUDENT_NO
    db.session.execute(Student.__table__.insert(), student_rows)
    ids = dict(db.session.execute(select(Student.student_no, Student.id)).all())

    # grades, 学位外语, 毕业生登记表
    grade_rows, language_rows, form_rows = [], [], []
    major_names = {m.id: m.name for m in majors.values()}
    now_utc = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for spec in specs:
        sid = ids[spec.row["student_no"]]
        grade_rows.extend(gen.grades_for(sid, spec))
        if spec.language and Level(spec.row["level"]) in BACHELOR_LEVELS:
            language_rows.extend(gen.language_for(sid, spec))
        if spec.form is not None:
            submitted = spec.form == FormState.SUBMITTED.value
            form_rows.append({
                "student_id": sid,
                "self_assessment": gen.self_assessment(spec.row, major_names[spec.row["major_id"]], submitted),
                "state": spec.form,
                "submitted_at": now_utc - dt.timedelta(days=rng.randint(3, 90), minutes=rng.randint(0, 1440))
                if submitted else None,
            })
    db.session.execute(Grade.__table__.insert(), grade_rows)
    if language_rows:
        db.session.execute(LanguageScore.__table__.insert(), language_rows)
    db.session.execute(GraduateForm.__table__.insert(), form_rows)

    # batches: open windows for the current 2020级 batches, the manual's closed window for 2019级
    day = dt.datetime.combine(today, dt.time.min)
    year = today.year
    open_window = {"confirm_start": day - dt.timedelta(days=7), "confirm_end": day + dt.timedelta(days=30),
                   "diploma_year": year, "graduation_date": dt.date(year, 12, 31)}
    batches = [
        GraduationBatch(name="2020级高起本毕业批次（当前）", enrol_grade=2020, study_grade=2020, level=GQB.value,
                        **open_window),
        GraduationBatch(name="2020级专升本毕业批次（当前）", enrol_grade=2020, study_grade=2020, level=ZSB.value,
                        **open_window),
        GraduationBatch(name="2020级高起专毕业批次（当前）", enrol_grade=2020, study_grade=2020, level=GQZ.value,
                        **open_window),
        GraduationBatch(name="2019级高起本毕业批次（已截止）", enrol_grade=2019, study_grade=2019, level=GQB.value,
                        confirm_start=dt.datetime(2024, 11, 25), confirm_end=dt.datetime(2024, 12, 6),
                        diploma_year=2024, graduation_date=dt.date(2024, 12, 31)),
    ]
    degree_batch = DegreeBatch(name="2020级学士学位批次", enrol_grade=2020, level=None,
                               apply_start=day - dt.timedelta(days=7), apply_end=day + dt.timedelta(days=30),
                               language_pass_mark=60, course_average_mark=70, year=year)
    db.session.add_all([*batches, degree_batch])
    db.session.flush()

    # 学位申请 already made by part of the 2020级 本科 students (not the demo student: they apply in the demo)
    application_rows = []
    for spec in specs[1:]:
        row = spec.row
        if (row["enrol_grade"] == 2020 and Level(row["level"]) in BACHELOR_LEVELS
                and row["status"] == EnrolmentStatus.ENROLLED.value and rng.random() < 0.6):
            application_rows.append({"batch_id": degree_batch.id, "student_id": ids[row["student_no"]],
                                     "applied_at": now_utc - dt.timedelta(days=rng.randint(0, 6),
                                                                          minutes=rng.randint(0, 1440)),
                                     "result": DegreeConditionResult.UNAUDITED.value})
    if application_rows:
        db.session.execute(DegreeApplication.__table__.insert(), application_rows)

    # accounts: staff and the demo student with DEMO_PASSWORD; a few students with the initial password
    for username, name, role, org_code, mobile in DEMO_ACCOUNTS:
        create_account(username=username, name=name, role=role, mobile=mobile, org_id=orgs[org_code].id,
                       password=DEMO_PASSWORD, must_change_password=False)
    create_account(username=DEMO_STUDENT_NO, name=demo_row["name"], role=RoleName.STUDENT,
                   mobile=demo_row["mobile"], student_id=ids[DEMO_STUDENT_NO], password=DEMO_PASSWORD,
                   must_change_password=False)
    others = [s.row for s in specs[1:] if s.site == 0 and s.row["enrol_grade"] == 2020]
    for row in others[:OTHER_STUDENT_ACCOUNTS]:
        create_account(username=row["student_no"], name=row["name"], role=RoleName.STUDENT, mobile=row["mobile"],
                       student_id=ids[row["student_no"]])

    db.session.commit()
    return {
        "organisations": len(orgs),
        "majors": len(majors),
        "plans": len(plan_rows),
        "plan_courses": len(course_rows),
        "students": len(student_rows),
        "grades": len(grade_rows),
        "language_scores": len(language_rows),
        "graduate_forms": len(form_rows),
        "graduation_batches": len(batches),
        "degree_batches": 1,
        "degree_applications": len(application_rows),
        "accounts": db.session.scalar(select(func.count(Account.id))),
    }
