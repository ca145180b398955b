"""Approved course exceptions for a share of the bench cohort (issue 14), and 毕业审核 with and without them.

Every ``1/share``-th student gets one approved exception, the kinds in turn: a 课程替代 of their first
required course not passed (by a course they passed), a 免修 of their first elective, a 学分认定 of their
first required course not passed (合格, the plan credits). The audit job then runs alternately without and
with them (twice each, the faster run counts: the machine is shared), on the same cohort.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from app.audit.numbers import is_pass

KINDS = ("substitute", "waiver", "recognition")


def exception_rows(share: float) -> list[dict]:
    """One approved exception row for every ``round(1 / share)``-th student (by id)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Student
    from app.services import facts

    step = max(1, round(1 / share))
    students = db.session.execute(select(Student.id, Student.major_id, Student.level, Student.study_grade)
                                  .order_by(Student.id)).all()[::step]
    plans = facts.load_plans(facts.plan_key(s) for s in students)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows = []
    for chunk_start in range(0, len(students), 5000):
        chunk = students[chunk_start:chunk_start + 5000]
        best = facts.best_scores_for([s.id for s in chunk])
        for n, s in enumerate(chunk, start=chunk_start):
            plan = plans.get(facts.plan_key(s))
            if plan is None:
                continue
            mine = best[s.id]
            kind = KINDS[n % 3]
            required = [c for c in plan[1].distinct_courses if c.required]
            missing = [c for c in required if not is_pass(mine.get(c.code))] or required
            passed = [code for code, score in mine.items() if is_pass(score)]
            electives = [c for c in plan[1].distinct_courses if not c.required]
            row = {"student_id": s.id, "kind": kind, "reason": "bench", "status": "approved", "entered_at": now,
                   "decided_at": now, "substitute_code": None, "substitute_name": None,
                   "source_institution": None, "source_course": None, "credits": None, "score": None}
            if kind == "substitute" and passed:
                course = missing[0]
                row.update(substitute_code=passed[0], substitute_name=passed[0])
            elif kind == "waiver" and electives:
                course = electives[0]
            else:
                course = missing[0]
                row.update(kind="recognition", source_institution="某职业技术学院", source_course=course.name,
                           credits=course.credits)
            row.update(course_code=course.code, course_name=course.name)
            rows.append(row)
    return rows


def compare(run_audit: Callable[[], dict], reset: Callable[[], None], share: float) -> dict:
    """毕业审核 alternately without / with the exceptions (twice each); the figures of the faster runs."""
    from sqlalchemy import delete

    from app.extensions import db
    from app.models import CourseException
    from app.services import facts

    rows = exception_rows(share)
    runs: dict[str, list[dict]] = {"without": [], "with": []}
    for label in ("without", "with", "without", "with"):
        db.session.execute(delete(CourseException))
        if label == "with":
            facts.bulk_insert(CourseException.__table__, rows)
        db.session.commit()
        reset()
        runs[label].append(run_audit())
    db.session.execute(delete(CourseException))
    db.session.commit()
    best = {label: min(reports, key=lambda r: r["seconds"]) for label, reports in runs.items()}
    cpu = {label: min(r.get("cpu_seconds") or 0.0 for r in reports) for label, reports in runs.items()}
    return {"exceptions": len(rows), "without": best["without"], "with": best["with"],
            "ratio": best["with"]["seconds"] / best["without"]["seconds"],
            "cpu_ratio": cpu["with"] / cpu["without"] if cpu["without"] else 0.0,
            "all_seconds": {label: [round(r["seconds"], 2) for r in reports] for label, reports in runs.items()},
            "all_cpu": {label: [round(r.get("cpu_seconds") or 0.0, 2) for r in reports]
                        for label, reports in runs.items()}}
