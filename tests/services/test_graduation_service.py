"""毕业审核 workflow through the service, on real database rows (SPEC §3, manual section 2)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import runner
from app.models import GraduateForm, GraduationAudit, GraduationSnapshot, OperationLog, Student, Task
from app.models.account import Account
from app.models.graduation import GraduationBatch
from app.security import Scope
from app.services import graduation, tasks
from app.services.dashboard import dashboard_for
from app.services.errors import Conflict, DomainError, NotAllowed, NotFound
from app.services.sync import sync_course_data
from app.statuses import EnrolmentStatus, FormState, GraduationResult, Level
from tests import factories

PRE = GraduationResult.PRE_GRADUATE.value
FAILED = GraduationResult.FAILED.value


def account(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def site_scope(world) -> Scope:
    return Scope("site", org_id=world.site1.id)


def run_task(kind: str, actor: Account, params: dict) -> Task:
    """Create and submit a task; JOBS_MODE is inline, so it has run when this returns."""
    task = tasks.create_task(kind, actor=actor, params=params, lock_key=tasks.lock_key_for(kind, actor))
    runner.submit(task)
    db.session.expire_all()
    return db.session.get(Task, task.id)


def audit_site1(world, **extra) -> Task:
    params = {"scope": site_scope(world).to_params(), "filters": {"enrol_grade": 2020, **extra}}
    return run_task("graduation_audit", account("jxd001"), params)


def audit_row(student: Student) -> GraduationAudit | None:
    return db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == student.id))


@pytest.fixture()
def batch(world):
    b = factories.graduation_batch()
    db.session.commit()
    return b


@pytest.fixture()
def three(world, batch):
    """Three hand-checked students of site 1 (plan: C01 4, C02 4, C03 2 必修; E01 2, E02 2 选修; ≥10, 选修 ≥2)."""
    good = world.student1  # all passed, form submitted, photo
    factories.grades(good, factories.ALL_PASS)
    weak = factories.student(world.site1, world.major1, no="2020010002", name="王五", photo=False, form=FormState.DRAFT)
    factories.grades(weak, {"C01": 52, "C02": 75, "E01": 90})
    factories.grades(weak, {"C01": 58}, kind="makeup")
    away = factories.student(world.site1, world.major1, no="2020010003", name="赵六", form=None,
                             status=EnrolmentStatus.SUSPENDED)
    factories.grades(away, factories.ALL_PASS)
    db.session.commit()
    return good, weak, away


def test_rule_outcomes_on_database_rows(world, three):
    """Batch audit of three real students gives exactly the hand-checked results, reasons and credits."""
    good, weak, away = three
    task = audit_site1(world)
    assert task.state == "succeeded", task.error
    assert task.summary == {"预毕业": 1, "不合格": 2}
    expected = {
        good.id: (PRE, [], 5, 14),
        weak.id: (FAILED, [
            ("missing_required_course", "必修课程未通过：高等数学（4学分，最高成绩 58）"),
            ("missing_required_course", "必修课程未通过：管理学原理（2学分）"),
            ("total_credits_short", "已获总学分 6，低于毕业最低总学分 10"),
            ("form_not_submitted", "毕业生登记表未提交"),
            ("photo_missing", "未上传毕业照片"),
        ], 2, 6),
        away.id: (FAILED, [
            ("not_enrolled", "学籍状态为休学，不是在籍"),
            ("form_not_submitted", "未填写毕业生登记表"),
        ], 5, 14),
    }
    for sid, (result, reasons, passed, credits) in expected.items():
        row = db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == sid))
        assert (row.result, row.computed_result) == (result, result)
        assert [(r["code"], r["message"]) for r in row.computed_reasons] == reasons
        assert row.computed_task_id == task.id
        snap = db.session.scalar(select(GraduationSnapshot).where(GraduationSnapshot.student_id == sid))
        assert (snap.result, snap.passed_courses, snap.earned_credits) == (result, passed, credits)
    assert db.session.get(Student, world.student2.id).graduation_audit_rows == []  # other site untouched


def test_sync_counts_only_plan_courses(world, three):
    """同步课程数据 stores passed plan courses and their credits; a course outside the plan does not count."""
    good, weak, _away = three
    factories.grades(good, {"X99": 95})
    nomajor = factories.major("无计划专业", world.college1)
    orphan = factories.student(world.site1, nomajor, no="2020010009", name="孙七")
    factories.grades(orphan, {"C01": 90, "C02": 40})
    db.session.commit()
    assert sync_course_data([good.id, weak.id, orphan.id, world.student2.id]) == 4
    db.session.commit()
    figures = {s.id: (s.passed_courses, s.earned_credits, s.synced_at is not None)
               for s in db.session.scalars(select(Student))}
    assert figures[good.id] == (5, 14, True)
    assert figures[weak.id] == (2, 6, True)
    assert figures[orphan.id] == (1, 0, True)  # no plan: passed codes counted, no credits
    assert figures[world.student2.id] == (0, 0, True)


def test_sync_job_through_task_center(world, three):
    """The sync task resolves the filter inside the scope and reports how many students it updated."""
    task = run_task("graduation_sync", account("jxd001"),
                    {"scope": site_scope(world).to_params(), "filters": {}})
    assert task.state == "succeeded", task.error
    assert task.summary == {"已同步": 3}
    assert db.session.get(Student, world.student2.id).synced_at is None  # other site untouched


def test_rerun_same_task_does_not_duplicate_snapshots(world, three):
    """Running the same audit task again replaces its snapshots; a second task adds new ones."""
    good, _weak, _away = three
    first = audit_site1(world)
    graduation.audit_students([good.id], task_id=first.id, actor=account("jxd001"))
    db.session.commit()
    count = lambda: db.session.scalar(  # noqa: E731
        select(func.count()).select_from(GraduationSnapshot).where(GraduationSnapshot.student_id == good.id))
    assert count() == 1
    second = audit_site1(world)
    assert second.id != first.id and count() == 2
    assert audit_row(good).computed_task_id == second.id


def test_audit_logs_only_changed_results(world, three):
    """The audit writes one log entry per student whose effective result changed, none on an unchanged rerun."""
    audit_site1(world)
    logs = lambda: db.session.scalar(  # noqa: E731
        select(func.count()).select_from(OperationLog).where(OperationLog.action == "graduation_audit"))
    assert logs() == 3
    audit_site1(world)
    assert logs() == 3


def test_override_survives_reaudit_and_is_logged(world, three):
    """A hand-set result stays after a later batch audit; the computed result is stored beside it."""
    _good, weak, _away = three
    audit_site1(world)
    graduation.override([weak.id], PRE, "线下核实成绩已补录", actor=account("jxd001"))
    db.session.commit()
    audit_site1(world)
    row = audit_row(weak)
    assert (row.result, row.override_result, row.computed_result) == (PRE, PRE, FAILED)
    assert row.is_override and row.override_reason == "线下核实成绩已补录"
    entry = db.session.scalar(select(OperationLog).where(OperationLog.action == "graduation_override"))
    assert (entry.old_value, entry.new_value, entry.reason, entry.student_id) == \
        ("不合格", "预毕业", "线下核实成绩已补录", weak.id)
    assert entry.actor_name == "jxd001" and entry.site_id == world.site1.id


def test_reaudit_summary_separates_kept_overrides(world, three):
    """The re-audit's summary counts the students' results and says how many of them are kept hand-set ones."""
    _good, weak, _away = three
    audit_site1(world)
    graduation.override([weak.id], PRE, "线下核实成绩已补录", actor=account("jxd001"))
    db.session.commit()
    task = audit_site1(world)
    assert task.summary == {"预毕业": 2, "不合格": 1, "保留手工修改结果": 1}
    assert tasks.summary_text(task.summary) == "预毕业 2，不合格 1；其中 1 名保留手工修改结果"


@pytest.mark.parametrize("reason", ["", "   "])
def test_override_without_reason_is_refused(world, three, reason):
    """修改毕业审核结果 needs a 核实说明; without one nothing changes."""
    _good, weak, _away = three
    audit_site1(world)
    with pytest.raises(DomainError, match="核实说明"):
        graduation.override([weak.id], PRE, reason, actor=account("jxd001"))
    db.session.rollback()
    assert audit_row(weak).result == FAILED and audit_row(weak).override_result is None


def test_override_outside_scope_is_not_found(world, three):
    """A site admin cannot override another site's student, even through the service."""
    with pytest.raises(NotFound):
        graduation.override([world.student2.id], PRE, "说明", actor=account("jxd001"))


def test_site_cannot_modify_confirmed_result(world, three):
    """After 一键确认毕业 a site cannot change the result; the whole request changes nothing."""
    good, weak, _away = three
    audit_site1(world)
    graduation.confirm({}, site_scope(world), account("jxd001"))
    db.session.commit()
    with pytest.raises(NotAllowed, match="已确认"):
        graduation.override([weak.id, good.id], FAILED, "重新核实", actor=account("jxd001"))
    db.session.rollback()
    assert audit_row(good).result == PRE and audit_row(good).confirmed_at is not None
    assert audit_row(weak).override_result is None


def test_college_cannot_modify_confirmed_result(world, three):
    """College admins are locked out of confirmed results like sites."""
    good, _weak, _away = three
    audit_site1(world)
    graduation.confirm({}, site_scope(world), account("jxd001"))
    db.session.commit()
    with pytest.raises(NotAllowed):
        graduation.override([good.id], FAILED, "重新核实", actor=account("xy001"))


def test_ce_corrects_confirmed_result_with_reason(world, three):
    """The CE admin may correct a confirmed result with a reason; set to 不合格 it leaves the confirmed list."""
    good, _weak, _away = three
    audit_site1(world)
    graduation.confirm({}, site_scope(world), account("jxd001"))
    db.session.commit()
    graduation.override([good.id], FAILED, "毕业照片不合规", actor=account("jjy001"))
    db.session.commit()
    row = audit_row(good)
    assert (row.result, row.override_result, row.confirmed_at) == (FAILED, FAILED, None)
    entry = db.session.scalar(select(OperationLog).where(OperationLog.action == "graduation_override"))
    assert entry.old_value == "预毕业（已确认）" and entry.new_value == "不合格"


def test_confirm_outside_window_is_refused(world, three):
    """一键确认毕业 outside the batch window names the window and changes nothing."""
    b = db.session.scalars(select(GraduationBatch)).one()
    b.confirm_start, b.confirm_end = dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6)
    db.session.commit()
    audit_site1(world)
    with pytest.raises(DomainError) as err:
        graduation.confirm({}, site_scope(world), account("jxd001"), now=dt.datetime(2024, 12, 10, 2, 0))
    assert err.value.message == ("2020级 高起本 批次不在确认毕业时间内（2024-11-25 00:00:00 至 2024-12-06 00:00:00），"
                                 "未确认 1 名")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(GraduationAudit)
                             .where(GraduationAudit.confirmed_at.is_not(None))) == 0


def test_closed_batch_does_not_block_open_ones(world, three):
    """A filter spanning batches: the open batch is confirmed, the closed one is named with its window and count."""
    good, _weak, _away = three
    audit_site1(world)
    closed = factories.graduation_batch(open_now=False, name="2021级高起本毕业批次", grade=2021)
    late = [factories.student(world.site1, world.major1, no=f"202101000{i}", name=f"孙{i}", grade=2021)
            for i in (1, 2)]
    for s in late:
        db.session.add(GraduationAudit(student_id=s.id, batch_id=closed.id, result=PRE, computed_result=PRE))
    db.session.commit()
    outcome = graduation.confirm({}, site_scope(world), account("jxd001"))
    db.session.commit()
    assert outcome.confirmed == 1
    assert [(r.name, r.count) for r in outcome.refused] == [("2021级 高起本 批次", 2)]
    assert outcome.message == ("已确认毕业 1 名学生，名单已提交继教院；2021级 高起本 批次不在确认毕业时间内"
                               "（2024-11-25 00:00:00 至 2024-12-06 00:00:00），未确认 2 名")
    assert audit_row(good).confirmed_at is not None
    assert all(audit_row(s).confirmed_at is None for s in late)
    assert db.session.scalar(select(func.count()).select_from(OperationLog)
                             .where(OperationLog.action == "graduation_confirm")) == 1


def test_confirm_window_uses_shanghai_wall_time(world, three):
    """The window is Asia/Shanghai time: 2024-11-24 16:30 UTC is already 11-25 00:30 in Shanghai."""
    b = db.session.scalars(select(GraduationBatch)).one()
    b.confirm_start, b.confirm_end = dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6)
    db.session.commit()
    audit_site1(world)
    with pytest.raises(DomainError):
        graduation.confirm({}, site_scope(world), account("jxd001"), now=dt.datetime(2024, 11, 24, 15, 30))
    db.session.rollback()
    outcome = graduation.confirm({}, site_scope(world), account("jxd001"), now=dt.datetime(2024, 11, 24, 16, 30))
    assert outcome.confirmed == 1


def test_confirm_inside_window_is_idempotent(world, three):
    """Confirming twice has the effect of once: only 预毕业 rows, one log entry each."""
    good, weak, _away = three
    audit_site1(world)
    assert graduation.confirm({}, site_scope(world), account("jxd001")).confirmed == 1
    db.session.commit()
    assert graduation.confirm({}, site_scope(world), account("jxd001")).confirmed == 0
    db.session.commit()
    assert audit_row(good).confirmed_at is not None and audit_row(weak).confirmed_at is None
    assert db.session.scalar(select(func.count()).select_from(OperationLog)
                             .where(OperationLog.action == "graduation_confirm")) == 1


def test_confirmed_row_keeps_result_on_reaudit(world, three):
    """A batch audit after confirmation stores the new computed result but keeps the confirmed one."""
    good, _weak, _away = three
    audit_site1(world)
    graduation.confirm({}, site_scope(world), account("jxd001"))
    db.session.commit()
    db.session.get(Student, good.id).photo_path = None
    db.session.commit()
    audit_site1(world)
    row = audit_row(good)
    assert (row.result, row.computed_result) == (PRE, FAILED) and row.confirmed_at is not None


def test_publish_numbers_and_second_publish(world, three):
    """发布 gives 18-digit numbers 10304·5·year·05/06·seq, unique, graduates the students; a rerun adds nothing."""
    good, _weak, _away = three
    other = factories.student(world.site1, world.major1, no="2020010004", name="钱八")
    factories.grades(other, factories.ALL_PASS)
    factories.plan(world.major1, Level.HIGH_TO_JUNIOR)
    junior = factories.student(world.site1, world.major1, no="2020010005", name="周九", level=Level.HIGH_TO_JUNIOR)
    factories.grades(junior, factories.ALL_PASS)
    factories.graduation_batch(name="2020级高起专毕业批次", level=Level.HIGH_TO_JUNIOR, year=2025)
    db.session.commit()
    audit_site1(world)
    graduation.confirm({}, site_scope(world), account("jxd001"))
    db.session.commit()
    ce_scope = Scope("all").to_params()
    task = run_task("graduation_publish", account("jjy001"), {"scope": ce_scope, "filters": {}})
    assert task.state == "succeeded", task.error
    assert task.summary == {"已毕业": 3}
    numbers = {s.student_no: audit_row(s).diploma_no for s in (good, other, junior)}
    assert numbers == {"2020010001": "103045202505000001", "2020010004": "103045202505000002",
                       "2020010005": "103045202506000001"}
    assert all(re.fullmatch(r"\d{18}", n) for n in numbers.values())
    assert db.session.get(Student, good.id).status == EnrolmentStatus.GRADUATED.value
    assert audit_row(good).graduation_date == dt.date(2025, 1, 10)
    again = run_task("graduation_publish", account("jjy001"), {"scope": ce_scope, "filters": {}})
    assert again.summary == {"已毕业": 0}
    assert {s.student_no: audit_row(s).diploma_no for s in (good, other, junior)} == numbers


def test_publish_needs_ce_admin(world, three):
    """A site admin cannot start 发布."""
    with pytest.raises(NotAllowed):
        graduation.start_task("graduation_publish", actor=account("jxd001"), scope=site_scope(world), filters={})


def test_student_without_plan_fails_with_no_plan(world, batch):
    """A student whose major/level/grade has no teaching plan is 不合格 with the no_plan reason."""
    nomajor = factories.major("无计划专业", world.college1)
    orphan = factories.student(world.site1, nomajor, no="2020010009", name="孙七")
    db.session.commit()
    audit_site1(world)
    row = audit_row(orphan)
    assert row.result == FAILED
    assert [(r["code"], r["message"]) for r in row.computed_reasons] == [
        ("no_plan", "未找到该生对应的教学计划（专业/层次/年级）")]


def test_students_outside_any_batch_are_skipped(world, batch):
    """Students with no matching graduation batch get no result and are counted in the summary."""
    factories.student(world.site1, world.major1, no="2019010001", name="吴十", grade=2019)
    db.session.commit()
    params = {"scope": site_scope(world).to_params(), "filters": {}}
    task = run_task("graduation_audit", account("jxd001"), params)
    assert task.summary == {"预毕业": 0, "不合格": 1, "不在毕业批次": 1}


def test_batch_conditions_decide_which_rules_apply(world, three):
    """A batch that does not require photo and form does not fail students for them."""
    _good, weak, _away = three
    b = db.session.scalars(select(GraduationBatch)).one()
    b.require_photo = False
    b.require_form = False
    db.session.commit()
    audit_site1(world)
    assert [r["code"] for r in audit_row(weak).computed_reasons] == [
        "missing_required_course", "missing_required_course", "total_credits_short"]


def test_preview_runs_rules_without_writing(world, three):
    """审核预览 returns the verdict the audit would give and writes nothing."""
    _good, weak, _away = three
    verdict = graduation.preview(weak)
    assert verdict.result == FAILED and len(verdict.reasons) == 5
    assert db.session.scalar(select(func.count()).select_from(GraduationAudit)) == 0
    assert db.session.scalar(select(func.count()).select_from(GraduationSnapshot)) == 0


def test_audit_job_resolves_scope_again(world, three):
    """Ids of another site passed to a site's audit job are dropped by the scope inside the job."""
    params = {"scope": site_scope(world).to_params(), "student_ids": [world.student2.id]}
    task = run_task("graduation_audit", account("jxd001"), params)
    assert task.state == "succeeded" and audit_row(world.student2) is None


def test_empty_filter_gives_clear_message(world, batch):
    """Starting an audit for a filter that matches nobody is refused with a message; no task is created."""
    with pytest.raises(DomainError, match="没有学生"):
        graduation.start_task("graduation_audit", actor=account("jxd001"), scope=site_scope(world),
                              filters={"enrol_grade": 1999})
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_second_audit_refused_while_first_is_open(world, batch):
    """While an audit of the same organisation is queued, a second one is refused in Chinese."""
    jxd = account("jxd001")
    db.session.add(Task(kind="graduation_audit", params={}, requested_by_id=jxd.id, org_id=jxd.org_id,
                        lock_key=tasks.lock_key_for("graduation_audit", jxd)))
    db.session.commit()
    with pytest.raises(Conflict, match="排队或执行中"):
        graduation.start_task("graduation_audit", actor=jxd, scope=site_scope(world), filters={})


def test_filters_and_scope_compose(world, three):
    """The one filter function narrows by 毕业审核结果 and 姓名/学号 and never leaves the scope."""
    audit_site1(world)
    scope = site_scope(world)
    ids = lambda f, s=scope: list(db.session.scalars(  # noqa: E731
        graduation.filtered_students_query(f, s).with_only_columns(Student.id)))
    assert ids({"result": PRE}) == [world.student1.id]
    assert len(ids({"result": FAILED})) == 2
    assert ids({"q": "王五"}) == [three[1].id]
    assert ids({"q": "20200100"}) == [s.id for s in three]
    assert ids({"site_id": world.site2.id}) == []
    assert ids({"result": GraduationResult.UNAUDITED.value}, Scope("all")) == [world.student2.id]
    assert ids({"enrol_grade": "x", "level": "bogus"}) == [s.id for s in three]


def test_student_form_rules(world):
    """自我鉴定: ≤2000 chars, non-empty to submit, not editable after submission."""
    s = factories.student(world.site1, world.major1, no="2020010007", name="郑十一", form=None)
    db.session.commit()
    with pytest.raises(DomainError, match="请填写"):
        graduation.save_form(s, "  ", submit=True, actor=None)
    with pytest.raises(DomainError, match="2000"):
        graduation.save_form(s, "字" * 2001, submit=False, actor=None)
    graduation.save_form(s, "草稿", submit=False, actor=None)
    assert graduation.student_view(s)["form_state"] == FormState.DRAFT.value
    graduation.save_form(s, "我的自我鉴定", submit=True, actor=None)
    db.session.commit()
    view = graduation.student_view(s)
    assert (view["form_state"], view["form_text"], view["form_editable"]) == ("submitted", "我的自我鉴定", False)
    with pytest.raises(DomainError, match="已提交"):
        graduation.save_form(s, "改一下", submit=True, actor=None)
    saved = db.session.scalar(select(GraduateForm.self_assessment).where(GraduateForm.student_id == s.id))
    assert saved == "我的自我鉴定"


def test_student_view_shows_own_result_and_reasons(world, three):
    """学生空间 shows the student's result label and every reason when 不合格."""
    _good, weak, _away = three
    audit_site1(world)
    view = graduation.student_view(weak)
    assert view["result_label"] == "不合格" and view["has_photo"] is False
    assert view["reasons"][0] == "必修课程未通过：高等数学（4学分，最高成绩 58）"
    assert graduation.student_view(world.student2)["result_label"] == "未审核"


def test_dashboard_counts_by_state_and_reasons(world, three):
    """The dashboard counts states per site/college in SQL and ranks failure reasons by frequency."""
    audit_site1(world)
    graduation.confirm({}, site_scope(world), account("jxd001"))
    db.session.commit()
    board = dashboard_for(Scope("all"))
    site1 = next(r for r in board["by_site"] if r["org_id"] == world.site1.id)
    assert site1["counts"] == {"unaudited": 0, "pre_graduate": 0, "failed": 2, "confirmed": 1, "published": 0}
    site2 = next(r for r in board["by_site"] if r["org_id"] == world.site2.id)
    assert site2["counts"]["unaudited"] == 1
    assert board["top_reasons"][0] == {"code": "form_not_submitted", "count": 2, "example": "毕业生登记表未提交",
                                       "percent": 100.0}
    assert "degree" in board
    own = dashboard_for(Scope("site", org_id=world.site2.id))
    assert [r["org_id"] for r in own["by_site"]] == [world.site2.id] and own["top_reasons"] == []


def test_grade_options_span_the_scope_years_newest_first(world):
    """The 学籍年级/学习年级 dropdowns offer every year from the scope's earliest to its latest grade;
    another site's students do not widen the site admin's range."""
    early = factories.student(world.site1, world.major1, no="2017000001", grade=2017)
    early.study_grade = 2018
    factories.student(world.site2, world.major2, no="2011000001", grade=2011)
    db.session.commit()
    site = graduation.filter_options(site_scope(world))
    assert [g for g, _ in site["enrol_grade"]][0] >= 2020 and [g for g, _ in site["enrol_grade"]][-1] == 2017
    assert [g for g, _ in site["enrol_grade"]] == sorted({g for g, _ in site["enrol_grade"]}, reverse=True)
    assert (2019, "2019级") in site["enrol_grade"] and (2011, "2011级") not in site["enrol_grade"]
    assert [g for g, _ in site["study_grade"]][-1] == 2018
    everyone = graduation.filter_options(Scope("all"))
    assert [g for g, _ in everyone["enrol_grade"]][-1] == 2011
    assert graduation.filter_options(Scope("none"))["enrol_grade"] == []


@pytest.mark.parametrize("threshold", [1, 10**6])
def test_a_large_audit_refreshes_the_planner_statistics_on_postgresql(world, three, monkeypatch, sql_log, threshold):
    """An audit that rewrote at least ``facts.ANALYZE_AFTER`` results ANALYZEs graduation_audit once,
    on PostgreSQL, so list pages do not plan with the statistics of before the audit; a small audit,
    and SQLite (whose planner keeps no sampled statistics), issue nothing."""
    from sqlalchemy import text

    from app.services import facts

    monkeypatch.setattr(facts, "ANALYZE_AFTER", threshold)
    task = audit_site1(world)
    assert task.state == "succeeded" and task.total == 3, task.error
    analyzed = [s for s in sql_log if s.lstrip().upper().startswith("ANALYZE")]
    if db.engine.dialect.name != "postgresql" or threshold > task.total:
        assert analyzed == []
        return
    assert analyzed == ["ANALYZE graduation_audit"]
    rows = db.session.scalar(select(func.count()).select_from(GraduationAudit))
    assert db.session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'graduation_audit'")) == rows
