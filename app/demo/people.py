"""The demo's people: names, 身份证号, mobiles, 自我鉴定, staff accounts, the shared photo — and how the
generator draws a student's row from them."""
from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field

from app.demo.college import GQB, GQZ, SITES, ZSB, MajorSpec
from app.demo.plans import PlanSpec
from app.demo.terms import term_end
from app.imports.cells import id_card_check_digit  # the importer's: one check digit for both
from app.statuses import LEVEL_DURATION_YEARS, EnrolmentStatus, FormState, Level, RoleName, StudyMode, label

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


def id_card_is_valid(number: str) -> bool:
    """True when an 18-character 身份证号 has digits, a real birth date and the right check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return number[17].upper() == id_card_check_digit(number[:17])


def pick(rng: random.Random, weighted):
    """One item of ``((item, weight), ...)``."""
    items, weights = zip(*weighted, strict=True)
    return rng.choices(items, weights)[0]

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

@dataclass
class StudentSpec:
    row: dict
    site: int  # 0-based site index
    plan: PlanSpec  # the plan it follows (for the NO_PLAN students: a plan that is not stored)
    profile: str = "random"  # demo | ok | fail_required | fail_two | short_electives | random
    photo: bool = True
    form: str | None = FormState.SUBMITTED.value
    language: bool = False
    extra: dict = field(default_factory=dict)


class PeopleDraws:
    """The generator's draws for people (mixed into ``Generator``, which owns ``rng`` and ``today``)."""

    rng: random.Random
    today: dt.date
    _id_cards: set[str]

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
            "ethnicity": pick(rng, ETHNICITIES),
            "political_status": pick(rng, POLITICAL),
            "mobile": self.mobile(),
            "enrol_grade": enrol,
            "study_grade": study,
            "level": level.value,
            "major_code": major.code,
            "study_mode": pick(rng, STUDY_MODES).value,
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

    def self_assessment(self, row: dict, major: str, full: bool) -> str:
        text = f"本人自{row['enrol_grade']}年3月入学以来，在{major}专业（{label(Level(row['level']))}）学习期间，"
        parts = SELF_ASSESSMENT if full else SELF_ASSESSMENT[:1]
        return text + "".join(self.rng.choice(options) for options in parts)
