"""Loading the rule inputs (batches, plans, facts) in a few set queries per chunk, and evaluating the rules."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.audit.confirmation import active_batches, batch_key, batch_matches_sql
from app.audit.graduation import GraduationConditions, GraduationFacts, audit_graduation_with_progress
from app.audit.scores import Progress
from app.audit.types import NO_EXCEPTIONS, Exceptions, Plan, Verdict
from app.extensions import db
from app.models.graduation import GraduateForm, GraduationAudit, GraduationBatch
from app.models.student import Student
from app.services import facts


def load_batches() -> dict[tuple[int, int, str], GraduationBatch]:
    """Active batch per (学籍年级, 学习年级, 层次) (``confirmation.active_batches``: the latest id)."""
    return active_batches(db.session.scalars(select(GraduationBatch)))


def active_batch(student: Student) -> GraduationBatch | None:
    """The batch that matches the student (``confirmation.batch_matches_sql``), latest id first."""
    return db.session.scalar(
        select(GraduationBatch)
        .where(batch_matches_sql(student, GraduationBatch))
        .order_by(GraduationBatch.id.desc())
        .limit(1)
    )


_CONDITIONS = {(p, f, ph): GraduationConditions(p, f, ph) for p in (True, False) for f in (True, False)
               for ph in (True, False)}  # the eight possible values, built once (evaluated per student)


def conditions_of(batch: GraduationBatch | None) -> GraduationConditions:
    """The a/b/c conditions a batch has in force; without a batch every condition applies."""
    if batch is None:
        return _CONDITIONS[True, True, True]
    return _CONDITIONS[bool(batch.require_plan_courses), bool(batch.require_form), bool(batch.require_photo)]


@dataclass
class PlanCache:
    """Teaching plans as rule values, keyed by (专业, 层次, 年级); loaded once per job."""

    plans: dict[tuple[int, str, int], tuple[int, Plan] | None] = field(default_factory=dict)

    def load(self, keys: Iterable[tuple[int, str, int]]) -> None:
        missing = {k for k in keys if k not in self.plans}
        if not missing:
            return
        found = facts.load_plans(missing)
        for key in missing:
            self.plans[key] = found.get(key)

    def get(self, key: tuple[int, str, int]) -> tuple[int, Plan] | None:
        return self.plans.get(key)


@dataclass
class Case:
    """Everything the rules need about one student, plus the row to update."""

    student: Any  # a Row of student columns
    batch: GraduationBatch | None
    plan: Plan | None
    best: dict[str, float]
    form_state: str | None
    audit: Any | None  # a Row of graduation_audit columns
    verdict: Verdict | None = None
    exceptions: Exceptions = field(default_factory=dict)  # approved course exceptions (课程替代 / 免修 / 学分认定)


_STUDENT_COLS = (
    Student.id, Student.student_no, Student.name, Student.status, Student.major_id, Student.level,
    Student.enrol_grade, Student.study_grade, Student.photo_path, Student.site_id, Student.college_id,
)


_AUDIT_COLS = (
    GraduationAudit.id, GraduationAudit.student_id, GraduationAudit.result, GraduationAudit.computed_result,
    GraduationAudit.override_result, GraduationAudit.confirmed_at, GraduationAudit.published_at,
    GraduationAudit.batch_id,
)


def _core_rows(stmt) -> list[Any]:
    """Rows of a column SELECT through the session's connection (Core rows: no ORM loading cost)."""
    db.session.flush()
    return list(db.session.connection().execute(stmt))


def load_cases(student_ids: Sequence[int], batches: Mapping, plans: PlanCache) -> list[Case]:
    """The rule inputs of a chunk of students in five set queries (students, forms, plans, grades, audits)."""
    ids = list(student_ids)
    students = _core_rows(select(*_STUDENT_COLS).where(Student.id.in_(ids)).order_by(Student.id))
    forms = dict(_core_rows(
        select(GraduateForm.student_id, GraduateForm.state).where(GraduateForm.student_id.in_(ids))
    ))
    audits = {r.student_id: r for r in _core_rows(
        select(*_AUDIT_COLS).where(GraduationAudit.student_id.in_(ids))
    )}
    plans.load(facts.plan_key(s) for s in students)
    best = facts.best_scores_for(ids)
    approved = facts.approved_exceptions_for(ids)
    cases = []
    for s in students:
        batch = batches.get(batch_key(s.enrol_grade, s.study_grade, s.level))
        plan = plans.get(facts.plan_key(s))
        cases.append(Case(student=s, batch=batch, plan=plan[1] if plan else None, best=best.get(s.id, {}),
                          form_state=forms.get(s.id), audit=audits.get(s.id),
                          exceptions=approved.get(s.id, NO_EXCEPTIONS)))
    return cases


def evaluate(case: Case) -> tuple[Verdict, Progress]:
    """Run the pure rules on the student's real facts with the batch's conditions in force
    (no batch: every condition applies) — the batch audit and 审核预览 both come here."""
    facts = GraduationFacts(
        enrolment_status=case.student.status,
        form_state=case.form_state,
        has_photo=bool(case.student.photo_path),
    )
    return audit_graduation_with_progress(facts, case.plan, case.best, conditions_of(case.batch), case.exceptions)


def preview(student: Student) -> Verdict:
    """审核预览: the same rules on the same data as the batch audit, writing nothing."""
    batch = active_batch(student)
    batches = {} if batch is None else {batch_key(batch.enrol_grade, batch.study_grade, batch.level): batch}
    return evaluate(load_cases([student.id], batches, PlanCache())[0])[0]
