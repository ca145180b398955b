"""Row validation: every row is checked and every problem collected, nothing stops at the first error.

Each kind's validator takes the rows from ``reader.read_rows`` and plain ``Lookups`` (the majors,
teaching sites, known 学号 and 课程代码 the service looked up) and returns the typed records, ready
for the database, and the list of ``RowError``. Records are only trusted when there is no error at
all: the service imports all rows or none.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from functools import lru_cache
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping, Sequence

from app.audit.language import CET4_MAX, language_passed
from app.audit.scores import parse_score
from app.imports import cells
from app.imports.cells import CellError, is_blank, text
from app.imports.reader import Row
from app.statuses import (
    LABELS,
    LEVEL_DURATION_YEARS,
    CourseNature,
    EnrolmentStatus,
    ExamKind,
    Level,
    StudyMode,
    SubstituteExam,
)

REQUIRED = "必填项为空"
MIN_YEAR = 1990
_STUDENT_NO = re.compile(r"^[A-Za-z0-9]{1,20}$")
_TERM = re.compile(r"^(\d{4})-(\d{4})-([12])$")
_MOBILE = re.compile(r"^1\d{10}$")
PASS_WORDS = {"合格": True, "通过": True, "不合格": False, "未通过": False}


@dataclass(frozen=True)
class RowError:
    """One problem: Excel row number, column header, what is wrong (Chinese) and the value as read."""

    row: int
    column: str
    problem: str
    value: Any = None


@dataclass(frozen=True)
class MajorRef:
    id: int
    code: str
    name: str
    college_id: int
    college_name: str = ""


@dataclass(frozen=True)
class SiteRef:
    id: int
    code: str
    name: str


@dataclass
class Lookups:
    """What the rows may refer to, looked up by the service.

    Attributes:
        majors: Every major (with its college).
        sites: Every teaching site (教学点 only; colleges are not sites).
        students: 学号 → student id, for the 学号 the file mentions (grades, language scores).
        courses: 课程代码 → 课程名称 of the teaching plans, for the codes the file mentions.
        today: The day the import runs (years and dates after it are refused).
    """

    majors: Sequence[MajorRef] = ()
    sites: Sequence[SiteRef] = ()
    students: Mapping[str, int] = field(default_factory=dict)
    courses: Mapping[str, str] = field(default_factory=dict)
    today: dt.date = field(default_factory=dt.date.today)

    def __post_init__(self) -> None:
        self._major_code = {m.code: m for m in self.majors}
        self._major_name: dict[str, list[MajorRef]] = defaultdict(list)
        for m in self.majors:
            self._major_name[m.name].append(m)
        self._site = {s.code: s for s in self.sites}
        self._site.update({s.name: s for s in self.sites})

    def major(self, value: Any, college: str = "") -> MajorRef:
        """A major by code or by name; a name shared by several majors needs the code (or 二级学院)."""
        key = text(value)
        if key in self._major_code:
            return self._major_code[key]
        found = self._major_name.get(key, [])
        if len(found) > 1 and college:
            found = [m for m in found if m.college_name == college] or found
        if len(found) == 1:
            return found[0]
        if not found:
            raise CellError(f"专业不存在：{key}")
        raise CellError(f"专业名称“{key}”对应多个专业，请改填专业代码")

    def site(self, value: Any) -> SiteRef:
        key = text(value)
        if key not in self._site:
            raise CellError(f"教学点不存在：{key}")
        return self._site[key]


class _Row:
    """One row being checked: reads cells by header and records each problem once."""

    def __init__(self, number: int, values: Mapping[str, Any], errors: list[RowError]) -> None:
        self.number = number
        self.values = values
        self.errors = errors
        self.ok = True

    def error(self, column: str, problem: str) -> None:
        self.ok = False
        self.errors.append(RowError(self.number, column, problem, self.values.get(column)))

    def blank(self, column: str) -> bool:
        return is_blank(self.values.get(column))

    def get(self, column: str, parse: Callable[[Any], Any], *, required: bool = False, default: Any = None) -> Any:
        """The parsed cell, or ``default`` when it is blank or wrong (the problem is recorded)."""
        raw = self.values.get(column)
        if is_blank(raw):
            if required:
                self.error(column, REQUIRED)
            return default
        try:
            return parse(raw)
        except CellError as exc:
            self.error(column, exc.message)
            return default


# --------------------------------------------------------------------------- cell parsers
# Parser factories are cached: each row reuses the same parser instead of building it again.


@lru_cache(maxsize=None)
def _text(what: str, max_len: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        result = text(value)
        if len(result) > max_len:
            raise CellError(f"{what}过长（不超过 {max_len} 个字符）")
        return result

    return parse


@lru_cache(maxsize=None)
def _code(what: str, max_len: int = 20, pattern: re.Pattern | None = None) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        result = text(value)
        if len(result) > max_len or " " in result or (pattern is not None and not pattern.match(result)):
            hint = "字母或数字" if pattern is not None else "字符，且不含空格"
            raise CellError(f"{what}格式不正确（不超过 {max_len} 位{hint}）")
        return result

    return parse


@lru_cache(maxsize=None)
def _choice(enum: type[Enum], what: str) -> Callable[[Any], str]:
    """A Chinese label (as in app.statuses) → its stored code."""
    codes = {LABELS[m]: m.value for m in enum}
    allowed = " / ".join(codes)

    def parse(value: Any) -> str:
        key = text(value)
        if key not in codes:
            raise CellError(f"{what}应为 {allowed} 之一")
        return codes[key]

    return parse


@lru_cache(maxsize=None)
def _one_of(options: Sequence[str], what: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        key = text(value)
        if key not in options:
            raise CellError(f"{what}应为 {' / '.join(options)} 之一")
        return key

    return parse


def _yes_no(value: Any) -> bool:
    key = text(value)
    if key in ("是", "否"):
        return key == "是"
    raise CellError("学位课程应填 是 或 否")


@lru_cache(maxsize=None)
def _number(what: str, low: float, high: float, *, above_low: bool = False) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        result = cells.number(value, what)
        if result > high or result < low or (above_low and result == low):
            bound = "大于" if above_low else "不小于"
            raise CellError(f"{what}超出范围（应{bound} {cells.text(low)} 且不超过 {cells.text(high)}）")
        return result

    return parse


@lru_cache(maxsize=None)
def _whole(what: str, low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        result = cells.whole_number(value, what)
        if not low <= result <= high:
            raise CellError(f"{what}超出范围（应在 {low}–{high} 之间）")
        return result

    return parse


@lru_cache(maxsize=None)
def _year(what: str, today: dt.date) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        result = cells.whole_number(value, what, suffix="级")
        if not MIN_YEAR <= result <= today.year + 1:
            raise CellError(f"{what}超出范围（应在 {MIN_YEAR}–{today.year + 1} 之间）")
        return result

    return parse


@lru_cache(maxsize=None)
def _date(what: str, today: dt.date | None = None) -> Callable[[Any], dt.date]:
    def parse(value: Any) -> dt.date:
        result = cells.date_value(value)
        if result.year < 1900 or (today is not None and result > today):
            raise CellError(f"{what}无效（不能晚于今天）" if today is not None else f"{what}无效")
        return result

    return parse


def _mobile(value: Any) -> str:
    result = text(value)
    if not _MOBILE.match(result):
        raise CellError("手机号应为 1 开头的 11 位数字")
    return result


def _score(value: Any) -> tuple[float, str]:
    """(score, as recorded): 85 → (85.0, "85"); 优 → (95.0, "优")."""
    try:
        score = parse_score(value)
    except ValueError as exc:
        raise CellError(str(exc)) from None
    return score, text(value)


@lru_cache(maxsize=None)
def _term(today: dt.date) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        result = text(value)
        m = _TERM.match(result)
        if not m or int(m.group(2)) != int(m.group(1)) + 1:
            raise CellError("学期格式应为 2024-2025-1（学年-学期，学期为 1 或 2）")
        if not MIN_YEAR - 1 <= int(m.group(1)) <= today.year + 1:
            raise CellError(f"学期超出范围（学年应在 {MIN_YEAR - 1}–{today.year + 1} 之间）")
        return result

    return parse


def _duplicate(seen: dict, key: tuple, r: _Row, column: str, what: str) -> None:
    """Report a natural key seen on an earlier row (the first occurrence stays valid)."""
    if key in seen:
        r.error(column, f"{what}与第 {seen[key]} 行重复")
    else:
        seen[key] = r.number


# --------------------------------------------------------------------------- kinds


def validate_students(rows: Sequence[Row], lk: Lookups) -> tuple[list[dict], list[RowError]]:
    """学生学籍 rows → Student column dicts (college_id from the major, 学制 from the level if blank)."""
    errors: list[RowError] = []
    records: list[dict] = []
    seen: dict = {}
    for number, values in rows:
        r = _Row(number, values, errors)
        no = r.get("学号", _code("学号", 20, _STUDENT_NO), required=True)
        if no is not None:
            _duplicate(seen, (no,), r, "学号", "学号")
        name = r.get("姓名", _text("姓名", 50), required=True)
        gender = r.get("性别", _one_of(("男", "女"), "性别"), required=True)
        card = r.get("身份证号", lambda v: cells.id_card(v, lk.today), required=True)
        birth = r.get("出生日期", _date("出生日期", lk.today))
        ethnicity = r.get("民族", _text("民族", 20))
        political = r.get("政治面貌", _text("政治面貌", 20))
        mobile = r.get("手机号", _mobile)
        enrol = r.get("学籍年级", _year("学籍年级", lk.today), required=True)
        study = r.get("学习年级", _year("学习年级", lk.today), required=True)
        if enrol is not None and study is not None and study < enrol:
            r.error("学习年级", "学习年级不能早于学籍年级")
        level = r.get("层次", _choice(Level, "层次"), required=True)
        major = r.get("专业", lambda v: lk.major(v, text(values.get("二级学院"))), required=True)
        mode = r.get("学习形式", _choice(StudyMode, "学习形式"), required=True)
        duration = r.get("学制", _number("学制", 0, 8, above_low=True))
        site = r.get("教学点", lk.site, required=True)
        status = r.get("学籍状态", _choice(EnrolmentStatus, "学籍状态"), default=EnrolmentStatus.ENROLLED.value)
        enrolled_on = r.get("入学日期", _date("入学日期"))
        if not r.ok:
            continue
        records.append({
            "student_no": no, "name": name, "gender": gender, "id_card": card,
            "birth_date": birth or cells.id_card_birth(card),
            "ethnicity": ethnicity, "political_status": political, "mobile": mobile,
            "enrol_grade": enrol, "study_grade": study, "level": level,
            "major_id": major.id, "college_id": major.college_id, "study_mode": mode,
            "duration_years": duration if duration is not None else LEVEL_DURATION_YEARS[Level(level)],
            "site_id": site.id, "status": status, "enrolled_on": enrolled_on,
        })
    return records, errors


def validate_plans(rows: Sequence[Row], lk: Lookups) -> tuple[list[dict], list[RowError]]:
    """教学计划 rows (one per course) → dicts with the plan key, the plan's minimums and the course.

    Rows of one plan must agree on 毕业最低总学分 and 选修最低学分; a 课程代码 appears once per plan.
    """
    errors: list[RowError] = []
    records: list[dict] = []
    heads: dict[tuple, tuple[int, float, float]] = {}
    seen: dict = {}
    for number, values in rows:
        r = _Row(number, values, errors)
        major = r.get("专业", lk.major, required=True)
        level = r.get("层次", _choice(Level, "层次"), required=True)
        grade = r.get("年级", _year("年级", lk.today), required=True)
        min_total = r.get("毕业最低总学分", _number("毕业最低总学分", 0, 500), required=True)
        min_elective = r.get("选修最低学分", _number("选修最低学分", 0, 500), default=0.0)
        code = r.get("课程代码", _code("课程代码"), required=True)
        name = r.get("课程名称", _text("课程名称", 100), required=True)
        credits = r.get("学分", _number("学分", 0, 30, above_low=True), required=True)
        nature = r.get("课程性质", _choice(CourseNature, "课程性质"), required=True)
        is_degree = r.get("学位课程", _yes_no, default=False)
        term = r.get("建议学期", _whole("建议学期", 1, 12))
        if min_total is not None and min_elective is not None and min_elective > min_total:
            r.error("选修最低学分", "选修最低学分不能大于毕业最低总学分")
        if major is not None and level is not None and grade is not None:
            key = (major.id, level, grade)
            if key in heads:
                first, total0, elective0 = heads[key]
                if min_total is not None and min_total != total0:
                    r.error("毕业最低总学分", f"同一教学计划（专业、层次、年级相同）的毕业最低总学分与第 {first} 行不一致")
                if min_elective is not None and min_elective != elective0:
                    r.error("选修最低学分", f"同一教学计划（专业、层次、年级相同）的选修最低学分与第 {first} 行不一致")
            elif min_total is not None and min_elective is not None:
                heads[key] = (number, min_total, min_elective)
            if code is not None:
                _duplicate(seen, (key, code), r, "课程代码", "同一教学计划的课程代码")
        if not r.ok:
            continue
        records.append({
            "major_id": major.id, "level": level, "grade": grade, "min_total_credits": min_total,
            "min_elective_credits": min_elective, "course_code": code, "course_name": name, "credits": credits,
            "nature": nature, "is_degree_course": is_degree, "suggested_term": term,
        })
    return records, errors


def _student_id(r: _Row, lk: Lookups) -> tuple[str | None, int | None]:
    no = r.get("学号", _code("学号", 20, _STUDENT_NO), required=True)
    if no is None:
        return None, None
    sid = lk.students.get(no)
    if sid is None:
        r.error("学号", f"学号不存在：系统中没有学号为 {no} 的学生")
    return no, sid


def validate_grades(rows: Sequence[Row], lk: Lookups) -> tuple[list[dict], list[RowError]]:
    """成绩 rows → Grade column dicts; the 学号 must exist and the 课程代码 be in a teaching plan."""
    errors: list[RowError] = []
    records: list[dict] = []
    seen: dict = {}
    for number, values in rows:
        r = _Row(number, values, errors)
        no, sid = _student_id(r, lk)
        code = r.get("课程代码", _code("课程代码"), required=True)
        if code is not None and code not in lk.courses:
            r.error("课程代码", f"课程不存在：没有任何教学计划包含课程代码 {code}")
        name = r.get("课程名称", _text("课程名称", 100))
        term = r.get("学期", _term(lk.today), required=True)
        score = r.get("成绩", _score, required=True)
        kind = r.get("考试性质", _choice(ExamKind, "考试性质"), default=ExamKind.REGULAR.value)
        if None not in (no, code, term, kind):
            _duplicate(seen, (no, code, term, kind), r, "学号", "同一学生、课程、学期和考试性质的成绩")
        if not r.ok:
            continue
        records.append({
            "student_id": sid, "course_code": code, "course_name": name or lk.courses[code], "term": term,
            "score": score[0], "raw_score": score[1], "exam_kind": kind,
        })
    return records, errors


def _substitute_result(r: _Row, substitute: str) -> tuple[float | None, bool | None]:
    """(替代成绩, recorded 合格/不合格): CET-4 needs a score; PETS-3 takes a score, 合格/不合格, or nothing
    (a certificate: 合格). Whether it passes is ``language.language_passed``'s answer."""
    column = "替代成绩"
    if substitute == SubstituteExam.CET4.value:
        return r.get(column, _number("大学英语四级成绩", 0, CET4_MAX), required=True), None
    raw = r.values.get(column)
    if is_blank(raw):
        return None, True
    if text(raw) in PASS_WORDS:
        return None, PASS_WORDS[text(raw)]
    return r.get(column, _number("PETS-3 成绩", 0, 100)), None


def validate_language(rows: Sequence[Row], lk: Lookups) -> tuple[list[dict], list[RowError]]:
    """学位外语成绩 rows → LanguageScore column dicts: an exam score, or an accepted substitute."""
    errors: list[RowError] = []
    records: list[dict] = []
    seen: dict = {}
    for number, values in rows:
        r = _Row(number, values, errors)
        no, sid = _student_id(r, lk)
        exam_date = r.get("考试日期", _date("考试日期", lk.today), required=True)
        substitute = r.get("替代考试", _choice(SubstituteExam, "替代考试"))
        score = r.get("成绩", lambda v: _score(v)[0])
        if substitute is None and r.blank("替代考试"):
            if r.blank("成绩"):
                r.error("成绩", REQUIRED + "（未填写替代考试时须填写成绩）")
            if not r.blank("替代成绩"):
                r.error("替代成绩", "未填写替代考试时替代成绩应为空")
            sub_score, recorded = None, None
        elif substitute is not None:
            if not r.blank("成绩"):
                r.error("成绩", "填写替代考试时成绩应为空（替代考试的分数填在替代成绩列）")
            sub_score, recorded = _substitute_result(r, substitute)
        else:
            sub_score, recorded = None, None
        if no is not None and exam_date is not None:
            _duplicate(seen, (no, exam_date), r, "考试日期", "同一学生同一考试日期的成绩")
        if not r.ok:
            continue
        records.append({
            "student_id": sid, "exam_date": exam_date, "score": score, "substitute": substitute,
            "substitute_score": sub_score,
            # 合格 at the default mark; the 学位条件审核 decides again with its batch's mark
            "passed": language_passed(score, substitute, sub_score, recorded),
        })
    return records, errors


VALIDATORS: dict[str, Callable[[Sequence[Row], Lookups], tuple[list[dict], list[RowError]]]] = {
    "students": validate_students,
    "plans": validate_plans,
    "grades": validate_grades,
    "language": validate_language,
}


def validate(kind: str, rows: Sequence[Row], lookups: Lookups) -> tuple[list[dict], list[RowError]]:
    """Check every row of ``kind``; the records are usable only when the error list is empty."""
    return VALIDATORS[kind](rows, lookups)
