"""Factories: small, explicit builders of organisations, accounts, students, plans and grades."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from app.audit.language import language_passed
from app.extensions import db
from app.models import (
    Grade,
    GraduateForm,
    GraduationBatch,
    LanguageScore,
    Major,
    Organisation,
    PlanCourse,
    Student,
    TeachingPlan,
)
from app.services.accounts import create_account
from app.statuses import CourseNature, EnrolmentStatus, FormState, Level, OrgKind, RoleName, SubstituteExam

PASSWORD = "Test@2024x"
_seq = itertools.count(1)


def org(name: str, kind: OrgKind, parent: Organisation | None = None) -> Organisation:
    o = Organisation(code=f"O{next(_seq):04d}", name=name, kind=kind.value, parent_id=parent.id if parent else None)
    db.session.add(o)
    db.session.flush()
    return o


def major(name: str, college: Organisation) -> Major:
    m = Major(code=f"M{next(_seq):04d}", name=name, college_id=college.id)
    db.session.add(m)
    db.session.flush()
    return m


def plan(major: Major, level: Level = Level.HIGH_TO_BACHELOR, grade: int = 2020, *, min_total: float = 10,
         min_elective: float = 2, courses=None) -> TeachingPlan:
    """Default plan: 高等数学 4 (必修, 学位), 大学英语 4 (必修, 学位), 管理学原理 2 (必修), 选修一 2, 选修二 2."""
    p = TeachingPlan(major_id=major.id, level=level.value, grade=grade, min_total_credits=min_total,
                     min_elective_credits=min_elective)
    db.session.add(p)
    db.session.flush()
    courses = courses or [
        ("C01", "高等数学", 4, CourseNature.REQUIRED, True),
        ("C02", "大学英语", 4, CourseNature.REQUIRED, True),
        ("C03", "管理学原理", 2, CourseNature.REQUIRED, False),
        ("E01", "选修一", 2, CourseNature.ELECTIVE, False),
        ("E02", "选修二", 2, CourseNature.ELECTIVE, False),
    ]
    for code, name, credits, nature, degree in courses:
        db.session.add(PlanCourse(plan_id=p.id, course_code=code, course_name=name, credits=credits,
                                  nature=nature.value, is_degree_course=degree))
    db.session.flush()
    return p


def student(site: Organisation, major: Major, *, no: str | None = None, name: str = "张三",
            level: Level = Level.HIGH_TO_BACHELOR, grade: int = 2020, photo: bool = True,
            form: FormState | None = FormState.SUBMITTED,
            status: EnrolmentStatus = EnrolmentStatus.ENROLLED) -> Student:
    s = Student(
        student_no=no or f"20{next(_seq):08d}", name=name, gender="男", id_card="11010519491231002X",
        birth_date=dt.date(1998, 1, 1), mobile="13800000000", enrol_grade=grade, study_grade=grade,
        level=level.value, major_id=major.id, college_id=major.college_id, site_id=site.id,
        status=status.value, enrolled_on=dt.date(grade, 3, 1), duration_years=5.0,
        photo_path="photos/test.jpg" if photo else None,
    )
    db.session.add(s)
    db.session.flush()
    if form is not None:
        db.session.add(GraduateForm(student_id=s.id, self_assessment="自我鉴定", state=form.value))
        db.session.flush()
    return s


def grades(student: Student, scores: dict[str, float | str], term: str = "2021-2022-1", kind: str = "regular") -> None:
    names = {"C01": "高等数学", "C02": "大学英语", "C03": "管理学原理", "E01": "选修一", "E02": "选修二"}
    from app.audit.scores import parse_score

    for code, raw in scores.items():
        db.session.add(Grade(student_id=student.id, course_code=code, course_name=names.get(code, code), term=term,
                             score=parse_score(raw), raw_score=str(raw), exam_kind=kind))
    db.session.flush()


ALL_PASS = {"C01": 80, "C02": 75, "C03": 70, "E01": 90, "E02": "良"}


def language(student: Student, score: float | None = 70, substitute: str | None = None,
             substitute_score: float | None = None) -> LanguageScore:
    """A 学位外语成绩; a CET-4 substitute without a given score gets a passing 480."""
    if substitute == SubstituteExam.CET4.value and substitute_score is None:
        substitute_score = 480.0
    ls = LanguageScore(student_id=student.id, exam_date=dt.date(2023, 5, 1), score=score, substitute=substitute,
                       substitute_score=substitute_score,
                       passed=language_passed(score, substitute, substitute_score, recorded_pass=True))
    db.session.add(ls)
    db.session.flush()
    return ls


def graduation_batch(*, open_now: bool = True, name: str = "2020级高起本毕业批次", grade: int = 2020,
                     level: Level = Level.HIGH_TO_BACHELOR, year: int = 2025) -> GraduationBatch:
    now = dt.datetime.now()
    if open_now:
        start, end = now - dt.timedelta(days=5), now + dt.timedelta(days=5)
    else:
        start, end = dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6)
    b = GraduationBatch(name=name, enrol_grade=grade, study_grade=grade, level=level.value, confirm_start=start,
                        confirm_end=end, diploma_year=year, graduation_date=dt.date(year, 1, 10))
    db.session.add(b)
    db.session.flush()
    return b


def account(username: str, role: RoleName, *, org: Organisation | None = None, student: Student | None = None,
            must_change: bool = False, mobile: str = "13900000000"):
    return create_account(username=username, name=username, role=role, mobile=mobile,
                          org_id=org.id if org else None, student_id=student.id if student else None,
                          password=None if must_change else PASSWORD, must_change_password=must_change)


@dataclass
class World:
    """Two colleges, two sites, one major per college, a plan, a student per site, an account per role."""

    ce: Organisation = None
    college1: Organisation = None
    college2: Organisation = None
    site1: Organisation = None
    site2: Organisation = None
    major1: Major = None
    major2: Major = None
    plan1: TeachingPlan = None
    plan2: TeachingPlan = None
    student1: Student = None  # site1, major1 (college1)
    student2: Student = None  # site2, major2 (college2)
    extra: dict = field(default_factory=dict)


def world() -> World:
    w = World()
    w.ce = org("继续教育学院", OrgKind.CE)
    w.college1 = org("管理学院", OrgKind.COLLEGE, w.ce)
    w.college2 = org("理学院", OrgKind.COLLEGE, w.ce)
    w.site1 = org("南通教学点", OrgKind.SITE, w.ce)
    w.site2 = org("如皋教学点", OrgKind.SITE, w.ce)
    w.major1 = major("工商管理", w.college1)
    w.major2 = major("数学与应用数学", w.college2)
    w.plan1 = plan(w.major1)
    w.plan2 = plan(w.major2)
    w.student1 = student(w.site1, w.major1, no="2020010001", name="张三")
    w.student2 = student(w.site2, w.major2, no="2020020001", name="李四")
    account("jjy001", RoleName.CE_ADMIN, org=w.ce)
    account("xy001", RoleName.COLLEGE_ADMIN, org=w.college1)
    account("xy002", RoleName.COLLEGE_ADMIN, org=w.college2)
    account("jxd001", RoleName.SITE_ADMIN, org=w.site1)
    account("jxd002", RoleName.SITE_ADMIN, org=w.site2)
    account("2020010001", RoleName.STUDENT, student=w.student1)
    account("2020020001", RoleName.STUDENT, student=w.student2)
    db.session.commit()
    return w


def degree_batch(*, name: str = "2020级学位批次", grade: int = 2020, level: Level | None = None, open_now: bool = True,
                 language_pass_mark: float = 60, course_average_mark: float = 70, year: int = 2025,
                 grant_date: dt.date | None = dt.date(2025, 6, 30)):
    """A 学位批次; ``level=None`` covers both 本科 levels. Open now unless ``open_now=False``."""
    from app.models import DegreeBatch

    now = dt.datetime.now()
    start, end = (now - dt.timedelta(days=5), now + dt.timedelta(days=5)) if open_now else \
        (dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 15))
    b = DegreeBatch(name=name, enrol_grade=grade, level=level.value if level else None, apply_start=start,
                    apply_end=end, language_pass_mark=language_pass_mark, course_average_mark=course_average_mark,
                    year=year, grant_date=grant_date)
    db.session.add(b)
    db.session.flush()
    return b


def graduation_result(student: Student, result: str = "pre_graduate", *, published: bool = False):
    """The student's GraduationAudit row with an effective result (and published when asked)."""
    from app.models import GraduationAudit

    batch = db.session.query(GraduationBatch).first() or graduation_batch()
    row = GraduationAudit(student_id=student.id, batch_id=batch.id, result=result, computed_result=result,
                          computed_at=dt.datetime(2024, 11, 1),
                          published_at=dt.datetime(2024, 12, 20) if published else None)
    db.session.add(row)
    db.session.flush()
    return row


def account_named(username: str):
    """The Account row of ``username``."""
    from sqlalchemy import select

    from app.models import Account

    return db.session.scalar(select(Account).where(Account.username == username))


def degree_applications(students, batch=None, *, language_score: float = 70) -> dict[str, int]:
    """Students ready for 学位条件审核 and applied: each 预毕业, a passing 学位外语, every course passed, an
    application in ``batch`` (a new open 学位批次 when None). Committed; returns 学号 → application id."""
    from app.models import DegreeApplication

    batch = batch or degree_batch()
    ids = {}
    for s in students:
        graduation_result(s)
        language(s, language_score)
        grades(s, ALL_PASS)
        application = DegreeApplication(batch_id=batch.id, student_id=s.id)
        db.session.add(application)
        db.session.flush()
        ids[s.student_no] = application.id
    db.session.commit()
    return ids


def audited_degree_applications(students, batch=None, *, actor: str = "jjy001") -> dict[str, int]:
    """``degree_applications`` and then the 学位条件审核 of every application by ``actor`` (through the task
    path, as the button does), so each reads 已达标. Returns 学号 → application id."""
    from app.jobs import runner
    from app.services import degree

    ids = degree_applications(students, batch)
    runner.submit(degree.start_audit(account_named(actor), flt=degree.DegreeFilter()))
    return ids
