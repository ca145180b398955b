"""The a/b/c conditions of a 毕业批次 are an input of the rule (``GraduationConditions``), not faked facts
(issue 13: the service passed form_state=SUBMITTED, has_photo=True or an empty plan when a switch was off)."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from app.audit import graduation as rules
from app.audit.graduation import ALL_CONDITIONS, GraduationConditions, GraduationFacts, audit_graduation
from app.audit.scores import course_progress
from app.extensions import db
from app.jobs import runner
from app.models import Account, GraduationBatch, GraduationSnapshot, Task
from app.security import Scope
from app.services import graduation
from app.services.graduation import inputs as graduation_inputs
from app.statuses import EnrolmentStatus, FormState, TaskState
from tests import factories
from tests.audit.test_graduation_rules import PLAN

BAD = GraduationFacts(EnrolmentStatus.ENROLLED.value, None, False)
WEAK_BEST = {"MATH": 40.0}
KINDS = {
    "plan_courses": {"missing_required_course", "total_credits_short", "elective_credits_short"},
    "form": {"form_not_submitted"},
    "photo": {"photo_missing"},
}


@pytest.mark.parametrize("switches", list(itertools.product([True, False], repeat=3)))
def test_a_condition_switched_off_gives_no_reason_of_its_kind(switches):
    """Every combination of the three switches: the reasons of a switched-off condition vanish, the others
    stay; the progress figures are the real plan's whatever the switches."""
    conditions = GraduationConditions(*switches)
    verdict, progress = rules.audit_graduation_with_progress(BAD, PLAN, WEAK_BEST, conditions)
    codes = {r.code for r in verdict.reasons}
    for (name, kinds), on in zip(KINDS.items(), switches, strict=True):
        assert bool(codes & kinds) is on, name
    assert progress == course_progress(PLAN, WEAK_BEST)
    assert audit_graduation(BAD, PLAN, WEAK_BEST) == audit_graduation(BAD, PLAN, WEAK_BEST, ALL_CONDITIONS)


def test_no_plan_and_enrolment_are_always_required():
    """Switching everything off still names a missing plan and a student who is not 在籍."""
    off = GraduationConditions(False, False, False)
    facts = GraduationFacts(EnrolmentStatus.SUSPENDED.value, None, False)
    assert [r.code for r in audit_graduation(facts, None, {}, off).reasons] == ["not_enrolled", "no_plan"]


@pytest.fixture()
def lenient(world):
    """A batch without the form and photo conditions; 王五 has a draft form, no photo, and plan courses missing."""
    b = factories.graduation_batch()
    b.require_form = False
    b.require_photo = False
    weak = factories.student(world.site1, world.major1, no="2020010002", name="王五", photo=False,
                             form=FormState.DRAFT)
    factories.grades(weak, {"C01": 52, "C02": 75, "E01": 90})
    db.session.commit()
    return b, weak


def test_the_service_passes_the_real_facts_and_the_batch_conditions(world, lenient, monkeypatch):
    """审核预览 and the batch audit hand the rule the student's real form and photo, with the batch's
    conditions — nothing pretends the form was submitted or the photo uploaded."""
    batch, weak = lenient
    seen = []
    real = graduation_inputs.audit_graduation_with_progress

    def spy(facts, plan, best, *rest):
        seen.append((facts, plan, rest))
        return real(facts, plan, best, *rest)

    monkeypatch.setattr(graduation_inputs, "audit_graduation_with_progress", spy)
    verdict = graduation.preview(weak)
    assert [r.code for r in verdict.reasons] == ["missing_required_course", "missing_required_course",
                                                 "total_credits_short"]
    facts, plan, rest = seen[-1]
    assert (facts.form_state, facts.has_photo) == (FormState.DRAFT.value, False)
    assert plan is not None and len(plan.courses) == 5
    assert rest == (GraduationConditions(plan_courses=True, form=False, photo=False), {})  # no course exceptions


def test_the_batch_audit_snapshot_shows_the_real_progress_when_plan_courses_are_off(world, lenient):
    """With 教学计划课程 switched off, 王五 is 预毕业 and the snapshot still shows the real 已通过课程数/已获总学分."""
    batch, weak = lenient
    batch.require_plan_courses = False
    db.session.commit()
    ce = db.session.scalar(select(Account).where(Account.username == "jjy001"))
    task = graduation.start_task("graduation_audit", actor=ce, scope=Scope("all"), filters={},
                                 student_ids=[weak.id])
    runner.submit(task)
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == TaskState.SUCCEEDED.value
    snap = db.session.scalar(select(GraduationSnapshot).where(GraduationSnapshot.student_id == weak.id))
    assert (snap.result, snap.reasons) == ("pre_graduate", [])
    assert (snap.passed_courses, snap.earned_credits) == (2, 6.0)  # C02 4 + E01 2; C01 52 failed
    assert db.session.get(GraduationBatch, batch.id).require_plan_courses is False


def test_a_window_includes_both_ends():
    """确认毕业时间 / 学位申请时间: the first and the last moment are inside, one second outside is not."""
    import datetime as dt

    from app.audit.confirmation import in_window

    start, end = dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6, 23, 59, 59)
    assert in_window(start, end, start) and in_window(start, end, end)
    assert not in_window(start, end, start - dt.timedelta(seconds=1))
    assert not in_window(start, end, end + dt.timedelta(seconds=1))


def test_each_graduation_state_has_its_label():
    """学生空间's status line and the dashboard read the same labels of ``graduation_state``."""
    from app.audit.confirmation import graduation_state_label

    states = ["unaudited", "pre_graduate", "failed", "confirmed", "published"]
    assert [graduation_state_label(s) for s in states] == ["未审核", "预毕业", "不合格", "已确认", "已毕业"]
