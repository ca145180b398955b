"""The two references the audit is measured against, on the same data.

* ``floor``: one hand-written SQL statement giving each student's pass/fail for the graduation
  conditions (required courses passed, total and elective credits, 学籍状态, 毕业生登记表, 毕业照片).
  No reasons, nothing written: what the database alone needs to answer the question.
* ``naive``: the per-student ORM loop one would write first — load the student, the plan, the grades,
  the form and the batch, evaluate with ``app.audit.graduation``, save the result and a snapshot.
"""
from __future__ import annotations

import time

from sqlalchemy import select, text

from app.audit.graduation import GraduationFacts, audit_graduation
from app.audit.scores import best_scores, course_progress
from app.extensions import db
from app.models import Grade, GraduateForm, GraduationAudit, GraduationBatch, GraduationSnapshot, Student, TeachingPlan
from app.models.base import utcnow
from app.services import facts
from app.statuses import PASS_SCORE

FLOOR_SQL = """
WITH best AS (
    SELECT student_id, course_code, MAX(score) AS score FROM grade GROUP BY student_id, course_code
), req AS (
    SELECT plan_id, COUNT(*) AS n FROM plan_course WHERE nature = 'required' GROUP BY plan_id
), per AS (
    SELECT s.id AS sid,
           SUM(CASE WHEN pc.nature = 'required' AND b.score >= :pass THEN 1 ELSE 0 END) AS req_passed,
           SUM(CASE WHEN b.score >= :pass THEN pc.credits ELSE 0 END) AS credits,
           SUM(CASE WHEN pc.nature = 'elective' AND b.score >= :pass THEN pc.credits ELSE 0 END) AS elective
    FROM student s
    JOIN teaching_plan tp ON tp.major_id = s.major_id AND tp.level = s.level AND tp.grade = s.study_grade
    JOIN best b ON b.student_id = s.id
    JOIN plan_course pc ON pc.plan_id = tp.id AND pc.course_code = b.course_code
    GROUP BY s.id
)
SELECT s.id,
       CASE WHEN s.status = 'enrolled' AND tp.id IS NOT NULL
             AND COALESCE(per.req_passed, 0) = COALESCE(req.n, 0)
             AND COALESCE(per.credits, 0) >= tp.min_total_credits
             AND COALESCE(per.elective, 0) >= tp.min_elective_credits
             AND f.state IN ('submitted', 'reviewed')
             AND s.photo_path IS NOT NULL AND s.photo_path <> ''
            THEN 1 ELSE 0 END AS pass
FROM student s
LEFT JOIN teaching_plan tp ON tp.major_id = s.major_id AND tp.level = s.level AND tp.grade = s.study_grade
LEFT JOIN req ON req.plan_id = tp.id
LEFT JOIN per ON per.sid = s.id
LEFT JOIN graduate_form f ON f.student_id = s.id
"""


def floor() -> tuple[float, int, int]:
    """Run the floor statement, fetching every verdict; returns (seconds, students, passed)."""
    t0 = time.perf_counter()
    rows = db.session.execute(text(FLOOR_SQL), {"pass": PASS_SCORE}).all()
    seconds = time.perf_counter() - t0
    db.session.rollback()
    return seconds, len(rows), sum(1 for _sid, ok in rows if ok)


def naive(student_ids: list[int], task_id: int) -> float:
    """The per-student ORM loop over ``student_ids``; results saved under ``task_id``. Returns seconds."""
    t0 = time.perf_counter()
    for sid in student_ids:
        s = db.session.get(Student, sid)
        plan_row = db.session.scalar(select(TeachingPlan).where(
            TeachingPlan.major_id == s.major_id, TeachingPlan.level == s.level, TeachingPlan.grade == s.study_grade))
        plan = facts.rule_plan(plan_row) if plan_row is not None else None  # lazy-loads the courses
        grades = db.session.scalars(select(Grade).where(Grade.student_id == sid)).all()
        best = best_scores((g.course_code, g.score) for g in grades)
        form = db.session.scalar(select(GraduateForm).where(GraduateForm.student_id == sid))
        batch = db.session.scalar(select(GraduationBatch).where(
            GraduationBatch.enrol_grade == s.enrol_grade, GraduationBatch.study_grade == s.study_grade,
            GraduationBatch.level == s.level).order_by(GraduationBatch.id.desc()).limit(1))
        verdict = audit_graduation(GraduationFacts(s.status, form.state if form else None, bool(s.photo_path)),
                                   plan, best)
        reasons = [r.to_dict() for r in verdict.reasons]
        prog = course_progress(plan, best)
        audit = db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == sid))
        if audit is None:
            audit = GraduationAudit(student_id=sid, batch_id=batch.id)
            db.session.add(audit)
        audit.computed_result = verdict.result
        audit.computed_reasons = reasons
        audit.computed_at = utcnow()
        audit.computed_task_id = task_id
        if audit.confirmed_at is None and audit.published_at is None:
            audit.result = audit.override_result or verdict.result
        db.session.add(GraduationSnapshot(task_id=task_id, student_id=sid, batch_id=batch.id, result=verdict.result,
                                          reasons=reasons, passed_courses=prog.passed_courses,
                                          earned_credits=prog.total_credits))
        db.session.flush()
    db.session.commit()
    return time.perf_counter() - t0
