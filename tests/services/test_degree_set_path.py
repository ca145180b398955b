"""The set-based 学位条件审核 and 学位申请信息汇总表 give what the per-student path gives.

A varied cohort (retakes, word grades, missing degree courses, substitutes, several exams, no plan,
a plan without degree courses, a course that is a degree course in one plan only, published
graduates) is audited by the job; each application is then recomputed the old way — one student
at a time through the ORM, every course's best score, the full plan, ``audit_degree`` — and the
stored result, reasons, snapshot average and the 汇总表's figures must be identical.
"""
from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from sqlalchemy import select

from app.audit.degree import LanguageExam, audit_degree, degree_course_average
from app.extensions import db
from app.jobs import runner
from app.models import (
    Account,
    DegreeApplication,
    DegreeSnapshot,
    Grade,
    GraduationAudit,
    LanguageScore,
    Student,
    Task,
)
from app.security import scope_of
from app.services import degree, exports, facts
from app.services.exports import degree_summary
from app.statuses import CourseNature, EnrolmentStatus, Level, TaskState
from tests import factories

CODES = ("C01", "C02", "C03", "E01", "E02", "X99")  # X99: a grade outside every plan


def _acct(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def _random_grades(rnd: random.Random, s: Student) -> None:
    for code in CODES:
        if rnd.random() < 0.15:
            continue  # no grade at all in this course
        attempts = rnd.choice([1, 1, 1, 2, 3])
        for n, kind in enumerate(("regular", "makeup", "retake")[:attempts]):
            raw = rnd.choice([rnd.randint(30, 99), rnd.randint(55, 70), "良", "中", "及格", "不及格"])
            factories.grades(s, {code: raw}, term=f"202{n + 1}-202{n + 2}-1", kind=kind)


def _random_language(rnd: random.Random, s: Student) -> None:
    for n in range(rnd.choice([0, 1, 1, 2, 3])):
        kind = rnd.random()
        if kind < 0.6:
            score = rnd.choice([rnd.randint(30, 90), 60, 59.5])
            db.session.add(LanguageScore(student_id=s.id, exam_date=dt.date(2022 + n, 6, 1), score=score,
                                         passed=score >= 60))
        else:
            passed = kind < 0.85
            db.session.add(LanguageScore(student_id=s.id, exam_date=dt.date(2022 + n, 6, 1), score=None,
                                         substitute=rnd.choice(["cet4", "pets3"]),
                                         substitute_score=450 if passed else 400, passed=passed))
    db.session.flush()


@pytest.fixture()
def cohort(world):
    """40 applications over four plans (one of them without degree courses) and one student without a plan."""
    rnd = random.Random(20240601)
    batch = factories.degree_batch(course_average_mark=72)
    # major2's 专升本 plan makes 管理学原理 a degree course and 高等数学 not one
    factories.plan(world.major2, Level.JUNIOR_TO_BACHELOR, courses=[
        ("C01", "高等数学", 4, CourseNature.REQUIRED, False),
        ("C03", "管理学原理", 2, CourseNature.REQUIRED, True),
        ("C02", "大学英语", 4, CourseNature.REQUIRED, True),
        ("E01", "选修一", 2, CourseNature.ELECTIVE, False),
    ])
    factories.plan(world.major1, Level.JUNIOR_TO_BACHELOR, courses=[
        ("C01", "高等数学", 4, CourseNature.REQUIRED, False),
        ("E01", "选修一", 2, CourseNature.ELECTIVE, False),
    ])
    places = [(world.site1, world.major1, Level.HIGH_TO_BACHELOR), (world.site2, world.major2, Level.HIGH_TO_BACHELOR),
              (world.site2, world.major2, Level.JUNIOR_TO_BACHELOR),
              (world.site1, world.major1, Level.JUNIOR_TO_BACHELOR)]
    students = [world.student1, world.student2]
    for i in range(37):
        site, major, level = places[i % len(places)]
        status = EnrolmentStatus.GRADUATED if i % 11 == 5 else EnrolmentStatus.ENROLLED
        students.append(factories.student(site, major, no=f"2020{i:06d}", name=f"学生{i}", level=level, status=status))
    orphan = factories.student(world.site1, world.major1, no="2020999999", name="无计划", grade=2020)
    orphan.study_grade = 2031  # follows a plan that does not exist
    students.append(orphan)
    for s in students:
        _random_grades(rnd, s)
        _random_language(rnd, s)
        result = rnd.choice([None, "pre_graduate", "pre_graduate", "pre_graduate", "failed"])
        if result:
            factories.graduation_result(s, result, published=result == "failed" and rnd.random() < 0.5)
        db.session.add(DegreeApplication(batch_id=batch.id, student_id=s.id))
    db.session.commit()
    return batch, students


def _old_facts(s: Student) -> degree.DegreeFacts:
    """The per-student path: ORM rows of one student, every course's best score, the full plan."""
    best: dict[str, float] = {}
    for g in db.session.scalars(select(Grade).where(Grade.student_id == s.id)):
        best[g.course_code] = max(best.get(g.course_code, g.score), g.score)
    rows = [(x.score, x.substitute, x.substitute_score, bool(x.passed)) for x in db.session.scalars(
        select(LanguageScore).where(LanguageScore.student_id == s.id).order_by(LanguageScore.exam_date))]
    audit = db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == s.id))
    plan = facts.plan_for(s)
    return degree.DegreeFacts(
        graduation_result=audit.result if audit else None,
        graduated=(audit is not None and audit.published_at is not None) or s.status == EnrolmentStatus.GRADUATED.value,
        exams=tuple(LanguageExam(score, sub, sub_score, passed if sub else None)
                    for score, sub, sub_score, passed in rows),
        plan=facts.rule_plan(plan) if plan else None,
        best=best,
        language_rows=tuple(rows),
    )


def _json(value):
    return json.loads(json.dumps(value, ensure_ascii=False))


def test_set_audit_equals_the_per_student_path(world, cohort):
    """Result, every reason (code, message, detail), the snapshot's average: identical for each application."""
    batch, students = cohort
    task = degree.start_audit(_acct("jjy001"), flt=degree.DegreeFilter(batch_id=batch.id))
    runner.submit(task)
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == TaskState.SUCCEEDED.value
    marks = degree.marks_of(batch)
    outcomes = set()
    for s in students:
        app = db.session.scalar(select(DegreeApplication).where(DegreeApplication.student_id == s.id))
        old = _old_facts(s)
        verdict = audit_degree(old.graduation_result, old.graduated, old.exams, old.plan, old.best, marks)
        assert app.computed_result == verdict.result, s.student_no
        assert app.computed_reasons == _json([r.to_dict() for r in verdict.reasons]), s.student_no
        snap = db.session.scalar(select(DegreeSnapshot).where(DegreeSnapshot.application_id == app.id))
        assert snap.average == degree_course_average(old.plan, old.best), s.student_no
        assert snap.reasons == app.computed_reasons and snap.result == app.computed_result
        outcomes.update(r["code"] for r in app.computed_reasons)
        outcomes.add(app.computed_result)
    # the cohort really exercises the rules
    assert {"met", "not_met", "no_plan", "no_degree_courses", "degree_course_missing", "degree_course_failed",
            "degree_average_below", "language_missing", "language_below", "graduation_not_met"} <= outcomes


def test_set_summary_equals_the_per_student_texts(world, cohort):
    """学位外语成绩, 学位课程成绩 and 学位课程平均分 of the 汇总表 are what the full facts show."""
    _batch, students = cohort
    actor = _acct("jjy001")
    rows = {r[1]: r for r in exports.degree_summary_rows(scope_of(actor), degree.DegreeFilter(), stage="any")}
    assert len(rows) == len(students)
    for s in students:
        old = _old_facts(s)
        expected = [degree.language_text(old), exports.degree_course_text(old), degree.average_text(old)]
        assert rows[s.student_no][10:13] == expected, s.student_no


def test_plan_loader_equals_the_orm_plans(world, cohort):
    """``facts.load_plans`` (plain columns) returns the same (plan id, plan) per key as the plans built
    from the ORM rows (``facts.plan_for`` + ``facts.rule_plan``)."""
    _batch, students = cohort
    keys = [facts.plan_key(s) for s in students]
    expected = {}
    for s in students:
        row = facts.plan_for(s)
        if row is not None:
            expected[facts.plan_key(s)] = (row.id, facts.rule_plan(row))
    assert expected and facts.load_plans(keys) == expected
    assert facts.load_plans([]) == {}


def test_degree_best_scores_are_the_plan_degree_courses_of_all_best_scores(world, cohort):
    """``best_degree_scores_for``: ``best_scores_for`` restricted to the 学位课程 of the student's own plan."""
    _batch, students = cohort
    ids = [s.id for s in students]
    every = facts.best_scores_for(ids)
    plans = facts.load_plans([facts.plan_key(s) for s in students])
    got = facts.best_degree_scores_for(ids)
    assert set(got) == set(ids)
    for s in students:
        plan = plans.get(facts.plan_key(s))
        codes = {c.code for c in plan[1].courses if c.degree_course} if plan else set()
        assert got[s.id] == {c: v for c, v in every[s.id].items() if c in codes}, s.student_no


def test_bulk_update_values_writes_each_row_its_own_values(world, cohort):
    """``facts.bulk_update_values`` (one UPDATE … FROM VALUES on PostgreSQL) sets exactly the given
    columns of exactly the given rows: JSON with awkward text, NULLs, datetimes; other rows untouched."""
    _batch, students = cohort
    apps = list(db.session.scalars(select(DegreeApplication).order_by(DegreeApplication.id)))
    at = dt.datetime(2026, 12, 1, 8, 0, 0, 123456)
    awkward = [{"code": "x", "message": "制表\t换行\n反斜杠\\ 引号\"' =1+1", "detail": {"score": 59.5, "n": None}}]
    rows = [{"id": a.id, "computed_result": ("met", "not_met")[i % 2], "computed_reasons": awkward if i % 3 else [],
             "computed_at": at if i % 2 else None, "computed_task_id": i, "result": "not_met"}
            for i, a in enumerate(apps[:7])]
    facts.bulk_update_values(DegreeApplication.__table__, rows)
    db.session.commit()
    db.session.expire_all()
    got = {a.id: a for a in db.session.scalars(select(DegreeApplication))}
    for row in rows:
        a = got[row["id"]]
        got_values = (a.computed_result, a.computed_reasons, a.computed_at, a.computed_task_id, a.result)
        assert got_values == tuple(row[k] for k in ("computed_result", "computed_reasons", "computed_at",
                                                     "computed_task_id", "result"))
    for a in apps[7:]:
        assert got[a.id].computed_result is None and got[a.id].result == "unaudited"
    facts.bulk_update_values(DegreeApplication.__table__, [])  # nothing to do is fine


def test_summary_reads_ahead_and_reports_a_failure_of_the_reader(world, cohort, monkeypatch):
    """The 汇总表 reads its next chunk in a helper thread: in small chunks every row still comes once,
    in 学号 order; an error there fails the task with that error, and no thread is left behind."""
    import threading

    actor = _acct("jjy001")
    monkeypatch.setattr(degree_summary, "SUMMARY_CHUNK", 7)
    rows = list(exports.degree_summary_rows(scope_of(actor), degree.DegreeFilter(), stage="any"))
    assert [r[1] for r in rows] == sorted(s.student_no for s in cohort[1])

    before = threading.active_count()

    def broken(*_args):
        raise RuntimeError("成绩库连接中断")

    monkeypatch.setattr(degree, "gather_figures", broken)
    task = exports.start_degree_summary_export(actor=actor, scope=scope_of(actor), filters={})
    runner.submit(task)  # inline: runs now, records the failure
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.state == TaskState.FAILED.value and "成绩库连接中断" in task.error
    assert task.result_path is None
    assert threading.active_count() == before
