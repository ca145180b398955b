"""The demo data (`flask seed-demo`): deterministic, complete, and ready for the manual's workflow."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from flask_appbuilder import Model
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app import storage
from app.audit.degree import degree_course_average
from app.audit.graduation import GraduationFacts, audit_graduation
from app.audit.scores import best_scores
from app.audit.types import Plan
from app.audit.types import PlanCourse as RulePlanCourse
from app.cli import sync_roles
from app.demo import DEMO_PASSWORD, DEMO_STUDENT_NO, id_card_check_digit, id_card_is_valid, seed_demo, term_name
from app.extensions import db
from app.models import (
    Account,
    Grade,
    GraduateForm,
    GraduationBatch,
    LanguageScore,
    Organisation,
    Student,
    TeachingPlan,
)
from app.statuses import EnrolmentStatus, FormState, GraduationResult, Level, OrgKind, RoleName

STUDENTS = 300


@pytest.fixture()
def fast_hashing(app_ctx, monkeypatch):
    """Cheap password hashes: the method is stored in each hash, so check_password still works."""
    monkeypatch.setitem(app_ctx.config, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    return app_ctx


@pytest.fixture()
def seeded(fast_hashing):
    return seed_demo(students=STUDENTS)


def _fingerprint() -> tuple:
    """Content that must not change between two loads with the same seed (ids excluded)."""
    students = db.session.execute(
        select(Student.student_no, Student.name, Student.id_card, Student.level, Student.mobile)
        .order_by(Student.student_no)).all()
    grades = db.session.execute(select(func.count(Grade.id), func.sum(Grade.score))).one()
    return tuple(students), tuple(grades)


def _wipe_and_resync() -> None:
    for table in reversed(Model.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
    sync_roles()


def _rule_plan(plan: TeachingPlan) -> Plan:
    return Plan(plan.min_total_credits, plan.min_elective_credits, tuple(
        RulePlanCourse(c.course_code, c.course_name, c.credits, c.nature == "required", c.is_degree_course)
        for c in plan.courses))


def _plan_of(student: Student) -> TeachingPlan | None:
    return db.session.query(TeachingPlan).filter_by(
        major_id=student.major_id, level=student.level, grade=student.study_grade).one_or_none()


def _best(student: Student) -> dict[str, float]:
    return best_scores(db.session.execute(
        select(Grade.course_code, Grade.score).where(Grade.student_id == student.id)).all())


def _graduation_verdict(student: Student):
    form = db.session.query(GraduateForm).filter_by(student_id=student.id).one_or_none()
    plan = _plan_of(student)
    facts = GraduationFacts(student.status, form.state if form else None, student.has_photo)
    return audit_graduation(facts, _rule_plan(plan) if plan else None, _best(student))


def test_seed_counts_and_determinism(fast_hashing):
    """Seeding 300 students writes every kind of row, and the same seed on a fresh database gives the same data."""
    first = seed_demo(students=STUDENTS)
    assert first["students"] == STUDENTS
    assert first["organisations"] >= 1 + 2 + 4 and first["majors"] >= 6
    assert first["plans"] > 0 and first["grades"] > STUDENTS * 10 and first["accounts"] >= 5 + 1 + 20
    assert first["students"] == db.session.scalar(select(func.count(Student.id)))
    before = _fingerprint()
    _wipe_and_resync()
    second = seed_demo(students=STUDENTS)
    assert second == first
    assert _fingerprint() == before


def test_seed_refuses_a_database_with_data(seeded):
    """A second load on top of existing data is refused instead of failing half-way."""
    from app.services.errors import DomainError

    with pytest.raises(DomainError):
        seed_demo(students=STUDENTS)


def test_demo_accounts_have_their_roles_orgs_and_password(seeded):
    """jjy001, xy001, jxd001, jxd002 and 2020010001 exist with the right role and organisation, password Demo@2024."""
    demo = db.session.query(Student).filter_by(student_no=DEMO_STUDENT_NO).one()
    site1 = db.session.query(Organisation).filter_by(name="南通教学点").one()
    site2 = db.session.query(Organisation).filter_by(name="如皋教学点").one()
    ce = db.session.query(Organisation).filter_by(kind=OrgKind.CE.value).one()
    expected = {
        "jjy001": (RoleName.CE_ADMIN, ce.id),
        "xy001": (RoleName.COLLEGE_ADMIN, demo.major.college_id),
        "jxd001": (RoleName.SITE_ADMIN, site1.id),
        "jxd002": (RoleName.SITE_ADMIN, site2.id),
    }
    for username, (role, org_id) in expected.items():
        account = db.session.query(Account).filter_by(username=username).one()
        assert [r.name for r in account.roles] == [role.value], username
        assert account.org_id == org_id, username
        assert check_password_hash(account.password, DEMO_PASSWORD), username
        assert not account.must_change_password
    student_account = db.session.query(Account).filter_by(username=DEMO_STUDENT_NO).one()
    assert [r.name for r in student_account.roles] == [RoleName.STUDENT.value]
    assert student_account.student_id == demo.id
    assert check_password_hash(student_account.password, DEMO_PASSWORD)
    others = db.session.query(Account).filter(Account.student_id.isnot(None), Account.username != DEMO_STUDENT_NO).all()
    assert len(others) == 20
    assert all(a.must_change_password and check_password_hash(a.password, f"edu@{a.mobile}") for a in others)


def test_demo_student_meets_every_condition(seeded):
    """2020010001 is 2020级 高起本 at jxd001's site, with photo, submitted form, language 72, and passes the audits."""
    demo = db.session.query(Student).filter_by(student_no=DEMO_STUDENT_NO).one()
    jxd001 = db.session.query(Account).filter_by(username="jxd001").one()
    assert (demo.enrol_grade, demo.study_grade, demo.level) == (2020, 2020, Level.HIGH_TO_BACHELOR.value)
    assert demo.site_id == jxd001.org_id and demo.status == EnrolmentStatus.ENROLLED.value
    assert demo.photo_path and storage.resolve(demo.photo_path).read_bytes()[:3] == b"\xff\xd8\xff"
    form = db.session.query(GraduateForm).filter_by(student_id=demo.id).one()
    assert form.state == FormState.SUBMITTED.value and form.self_assessment
    language = db.session.query(LanguageScore).filter_by(student_id=demo.id).one()
    assert language.score == 72 and language.passed
    assert _graduation_verdict(demo).result == GraduationResult.PRE_GRADUATE.value
    assert degree_course_average(_rule_plan(_plan_of(demo)), _best(demo)) >= 70


def test_first_site_cohort_has_a_realistic_mix(seeded):
    """The 2020级 高起本 students of the first site mostly pass the graduation audit, some fail for stated reasons."""
    demo = db.session.query(Student).filter_by(student_no=DEMO_STUDENT_NO).one()
    cohort = db.session.query(Student).filter_by(site_id=demo.site_id, enrol_grade=2020, study_grade=2020,
                                                 level=Level.HIGH_TO_BACHELOR.value).all()
    assert len(cohort) >= 10
    verdicts = [_graduation_verdict(s) for s in cohort]
    passed = sum(v.result == GraduationResult.PRE_GRADUATE.value for v in verdicts)
    assert passed > len(cohort) / 2
    reasons = {r.code for v in verdicts for r in v.reasons}
    assert {"missing_required_course", "elective_credits_short", "photo_missing", "form_not_submitted",
            "no_plan"} <= reasons


def test_every_id_card_is_valid_and_matches_the_student(seeded):
    """Every 身份证号 has a correct MOD 11-2 check digit, the birth date and a gender digit that match the record."""
    rows = db.session.execute(select(Student.id_card, Student.birth_date, Student.gender)).all()
    assert len(rows) == STUDENTS
    assert len({r.id_card for r in rows}) == STUDENTS
    for id_card, birth, gender in rows:
        assert id_card_is_valid(id_card), id_card
        assert id_card[6:14] == birth.strftime("%Y%m%d")
        assert (int(id_card[16]) % 2 == 1) == (gender == "男")


def test_id_card_check_digit_known_value():
    """The check digit follows GB 11643 (the standard's example 11010519491231002X)."""
    assert id_card_check_digit("11010519491231002") == "X"
    assert not id_card_is_valid("110105194912310021")


def test_term_names_follow_a_march_intake():
    """A March intake starts in the spring term: 2020级 term 1 is 2019-2020-2, term 2 is 2020-2021-1."""
    assert [term_name(2020, k) for k in (1, 2, 3, 10)] == ["2019-2020-2", "2020-2021-1", "2020-2021-2", "2024-2025-1"]


def test_batch_windows_open_and_closed(seeded):
    """The current 2020级 batch's confirmation window contains now (Asia/Shanghai); the 2019级 one has closed."""
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    current = db.session.query(GraduationBatch).filter_by(name="2020级高起本毕业批次（当前）").one()
    closed = db.session.query(GraduationBatch).filter_by(name="2019级高起本毕业批次（已截止）").one()
    assert current.confirm_start <= now <= current.confirm_end
    assert current.diploma_year == now.year and current.graduation_date.year == now.year
    assert (closed.confirm_start, closed.confirm_end) == (dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6))
    assert not closed.confirm_start <= now <= closed.confirm_end


def test_some_students_have_no_teaching_plan(seeded):
    """At least one student's (专业, 层次, 年级) has no teaching plan, so the audit's 'no plan' reason shows up."""
    plans = {(p.major_id, p.level, p.grade) for p in db.session.query(TeachingPlan)}
    without = [s for s in db.session.query(Student) if (s.major_id, s.level, s.study_grade) not in plans]
    assert without
    assert len(without) < STUDENTS // 20


def test_grades_are_unique_per_attempt_and_words_are_mapped(seeded):
    """Grades hold one row per (student, course, term, 考试性质); 优/良/中/及格 keep the word and map the score."""
    rows = db.session.execute(select(Grade.student_id, Grade.course_code, Grade.term, Grade.exam_kind,
                                     Grade.raw_score, Grade.score)).all()
    keys = [(r[0], r[1], r[2], r[3]) for r in rows]
    assert len(keys) == len(set(keys))
    words = defaultdict(set)
    for *_key, raw, score in rows:
        if not raw.replace(".", "").isdigit():
            words[raw].add(score)
    assert dict(words) and all(len(v) == 1 for v in words.values())
    assert words.get("优", {95.0}) == {95.0} and words.get("及格", {65.0}) == {65.0}
