"""app.services.degree: applications, fact gathering for 学位条件审核, overrides, 初审, 终审, 发布."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, func, select

from app.clock import local_now
from app.extensions import db
from app.jobs import runner
from app.models import DegreeApplication, DegreeSnapshot, Grade, OperationLog, Signature, Task
from app.services import degree, tasks
from app.services.errors import DomainError, NotAllowed, NotFound
from app.statuses import DegreeConditionResult, Level, ReviewOpinion, TaskState
from tests import factories

MET = DegreeConditionResult.MET.value
NOT_MET = DegreeConditionResult.NOT_MET.value


acct = factories.account_named


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(app_id: int) -> DegreeApplication:
    db.session.expire_all()
    return db.session.get(DegreeApplication, app_id)


def give_signature(username: str) -> Signature:
    """A signature row without going through the upload (the upload has its own tests)."""
    owner = acct(username)
    sig = Signature(account_id=owner.id, version=1, path="signatures/x.png", sha256="0" * 64, width=10, height=10)
    db.session.add(sig)
    db.session.flush()
    return sig


def run_audit(actor_name: str = "jxd001", ids=None, flt=None) -> Task:
    task = degree.start_audit(acct(actor_name), ids=ids, flt=flt)
    runner.submit(task)
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.state == TaskState.SUCCEEDED.value, task.error
    return task


@pytest.fixture()
def batch(world):
    return factories.degree_batch()


@pytest.fixture()
def good(world, batch):
    """student1 (site1/college1) and student2 (site2/college2) meet every condition and have applied."""
    return factories.degree_applications((world.student1, world.student2), batch)


def make_app(student, batch) -> int:
    app = DegreeApplication(batch_id=batch.id, student_id=student.id)
    db.session.add(app)
    db.session.commit()
    return app.id


# --------------------------------------------------------------------------- facts from DB rows


def _best_attempt(w):
    factories.grades(w.student1, {"C01": 50, "C02": 75}, term="2021-2022-1")
    factories.grades(w.student1, {"C01": 80}, term="2022-2023-1", kind="makeup")
    factories.language(w.student1, 70)


def _failed_attempts(w):
    factories.grades(w.student1, {"C01": 40, "C02": 90}, term="2021-2022-1")
    factories.grades(w.student1, {"C01": 55}, term="2022-2023-1", kind="retake")
    factories.language(w.student1, 70)


def _substitute_cet4(w):
    factories.grades(w.student1, factories.ALL_PASS)
    factories.language(w.student1, None, substitute="cet4")


def _substitute_not_passed(w):
    from app.models import LanguageScore

    factories.grades(w.student1, factories.ALL_PASS)
    db.session.add(LanguageScore(student_id=w.student1.id, exam_date=dt.date(2023, 6, 1), score=None,
                                 substitute="cet4", substitute_score=400, passed=False))


def _missing_exam(w):
    factories.grades(w.student1, factories.ALL_PASS)


def _exam_below(w):
    factories.grades(w.student1, factories.ALL_PASS)
    factories.language(w.student1, 52)


def _missing_degree_course(w):
    factories.grades(w.student1, {"C01": 80})
    factories.language(w.student1, 70)


def _average_below_75(w):
    factories.grades(w.student1, {"C01": 72, "C02": 74})
    factories.language(w.student1, 70)


def _word_grades(w):
    factories.grades(w.student1, {"C01": "良", "C02": "中"})
    factories.language(w.student1, 70)


FACT_CASES = [
    # (builder, graduation result, course average mark, expected result, expected messages)
    (_best_attempt, "pre_graduate", 70, MET, []),
    (_failed_attempts, "pre_graduate", 70, NOT_MET, ["学位课程不合格：高等数学 55"]),
    (_substitute_cet4, "pre_graduate", 70, MET, []),
    (_substitute_not_passed, "pre_graduate", 70, NOT_MET, ["无学位外语成绩"]),
    (_missing_exam, "pre_graduate", 70, NOT_MET, ["无学位外语成绩"]),
    (_exam_below, "pre_graduate", 70, NOT_MET, ["学位外语成绩 52，低于合格线 60"]),
    (_missing_degree_course, "pre_graduate", 70, NOT_MET, ["学位课程无成绩：大学英语"]),
    (_average_below_75, "pre_graduate", 75, NOT_MET, ["学位课程平均分 73，低于 75"]),
    (_average_below_75, "pre_graduate", 70, MET, []),
    (_word_grades, "pre_graduate", 75, MET, []),  # 良 85, 中 75 → 80
    (_best_attempt, "failed", 70, NOT_MET, ["毕业审核结果为不合格，需为预毕业或已毕业"]),
    (_best_attempt, None, 70, NOT_MET, ["毕业审核结果为未审核，需为预毕业或已毕业"]),
]


@pytest.mark.parametrize(("build", "graduation", "mark", "expected", "messages"), FACT_CASES,
                         ids=[f"{c[0].__name__}-{c[1]}-{c[2]}" for c in FACT_CASES])
def test_audit_gathers_facts_from_rows(world, build, graduation, mark, expected, messages):
    """学位条件审核 reads best attempts, substitutes, exams, the plan and the batch's marks from the database."""
    b = factories.degree_batch(course_average_mark=mark)
    build(world)
    if graduation:
        factories.graduation_result(world.student1, graduation)
    app_id = make_app(world.student1, b)
    task = run_audit(ids=[app_id])
    app = fresh(app_id)
    assert app.computed_result == expected and app.result == expected
    assert [r["message"] for r in app.computed_reasons] == messages
    assert app.computed_at is not None and app.computed_task_id == task.id


def test_published_graduate_counts_as_graduated(world, batch):
    """A student whose graduation was published (已毕业) meets the graduation condition."""
    factories.graduation_result(world.student1, "failed", published=True)
    factories.language(world.student1, 70)
    factories.grades(world.student1, factories.ALL_PASS)
    app_id = make_app(world.student1, batch)
    run_audit(ids=[app_id])
    assert fresh(app_id).result == MET


def test_missing_plan_is_a_reason(world):
    """Without a teaching plan for (专业, 层次, 年级) the application is 未达标 with that reason."""
    s = factories.student(world.site1, world.major1, level=Level.JUNIOR_TO_BACHELOR, name="王五")
    b = factories.degree_batch(level=Level.JUNIOR_TO_BACHELOR, name="专升本学位")
    factories.graduation_result(s)
    factories.language(s, 70)
    app_id = make_app(s, b)
    run_audit(ids=[app_id])
    assert [r["code"] for r in fresh(app_id).computed_reasons] == ["no_plan"]


def test_audit_summary_snapshots_and_log(world, good):
    """The job summarises 已达标/未达标, keeps one snapshot per (task, application) and logs only changes."""
    s1 = good["2020010001"]
    db.session.execute(Grade.__table__.delete().where(Grade.student_id == world.student2.id))
    db.session.commit()
    task = run_audit("jjy001", flt=degree.DegreeFilter(batch_id=fresh(s1).batch_id))
    assert task.summary == {"已达标": 1, "未达标": 1}
    assert task.total == 2 and task.done == 2
    assert count(DegreeSnapshot, DegreeSnapshot.task_id == task.id) == 2
    logs = count(OperationLog, OperationLog.action == "degree_audit")
    assert logs == 2
    # running the same task again changes nothing and duplicates nothing
    task.state = TaskState.FAILED.value
    db.session.commit()
    runner.run(task.id)
    assert db.session.scalar(select(func.count()).select_from(DegreeSnapshot)) == 2
    run_audit("jjy001", flt=degree.DegreeFilter(batch_id=fresh(s1).batch_id))
    assert db.session.scalar(select(func.count()).select_from(DegreeSnapshot)) == 4
    assert count(OperationLog, OperationLog.action == "degree_audit") == 2


def test_a_large_audit_refreshes_the_planner_statistics_on_postgresql(world, good, monkeypatch, sql_log):
    """Like the graduation audit: past ``facts.ANALYZE_AFTER`` applications, one ANALYZE of
    degree_application after the last chunk (PostgreSQL only)."""
    from app.services import facts

    monkeypatch.setattr(facts, "ANALYZE_AFTER", 2)
    run_audit("jjy001", flt=degree.DegreeFilter(batch_id=fresh(good["2020010001"]).batch_id))
    analyzed = [s for s in sql_log if s.lstrip().upper().startswith("ANALYZE")]
    assert analyzed == (["ANALYZE degree_application"] if db.engine.dialect.name == "postgresql" else [])


def test_audit_respects_scope_of_requester(world, good):
    """A site admin's audit by filter only touches the site's applications."""
    run_audit("jxd001", flt=degree.DegreeFilter())
    assert fresh(good["2020010001"]).computed_at is not None
    assert fresh(good["2020020001"]).computed_at is None


def test_audit_query_count_does_not_grow_with_students(world, batch):
    """Fact gathering is set-based: auditing 20 applications takes as many queries as auditing 2."""
    ids = []
    for i in range(20):
        s = factories.student(world.site1, world.major1, name=f"学生{i}")
        factories.graduation_result(s)
        factories.language(s, 70)
        factories.grades(s, factories.ALL_PASS)
        ids.append(make_app(s, batch))

    def count_queries(app_ids, task_id):
        seen = []

        def before(*_a):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            degree.audit_applications(app_ids, task_id=task_id, actor=acct("jxd001"))
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        db.session.rollback()
        return len(seen)

    task = tasks.create_task("degree_audit", actor=acct("jxd001"), params={"ids": ids})
    db.session.commit()
    assert count_queries(ids[:2], task.id) == count_queries(ids, task.id)


# --------------------------------------------------------------------------- 学位申请


def test_apply_inside_window_is_logged(world, batch):
    """A 预毕业 本科 student applies inside the window; the application is logged."""
    factories.graduation_result(world.student1)
    student_account = acct("2020010001")
    app = degree.apply(world.student1, student_account)
    assert app.result == DegreeConditionResult.UNAUDITED.value and app.applied_by_id == student_account.id
    log = db.session.scalar(select(OperationLog).where(OperationLog.action == "degree_apply"))
    assert log.record_id == app.id and log.new_value == "已申请"


def test_apply_outside_window_names_the_window(world):
    """Outside the application window the student is refused with the window's dates."""
    factories.degree_batch(open_now=False)
    factories.graduation_result(world.student1)
    with pytest.raises(DomainError, match=r"2024-03-01 00:00:00 至 2024-03-15 00:00:00"):
        degree.apply(world.student1, acct("2020010001"), now=dt.datetime(2024, 3, 16, 8, 0))
    assert db.session.scalar(select(func.count()).select_from(DegreeApplication)) == 0
    assert degree.apply(world.student1, acct("2020010001"), now=dt.datetime(2024, 3, 14, 23, 59)).id


def test_apply_twice_refused(world, batch):
    """A second application in the same batch is refused."""
    factories.graduation_result(world.student1)
    degree.apply(world.student1, acct("2020010001"))
    with pytest.raises(DomainError, match="已提交过学位申请"):
        degree.apply(world.student1, acct("2020010001"))


@pytest.mark.parametrize("result", ["failed", "unaudited", None])
def test_apply_refused_without_graduation(world, batch, result):
    """A student whose graduation result is 不合格 / 未审核 cannot apply."""
    if result:
        factories.graduation_result(world.student1, result)
    with pytest.raises(DomainError, match="需为预毕业或已毕业"):
        degree.apply(world.student1, acct("2020010001"))


def test_apply_refused_for_gaoqizhuan(world):
    """高起专 students never get a degree, even with a batch for their grade."""
    s = factories.student(world.site1, world.major1, level=Level.HIGH_TO_JUNIOR)
    own = factories.account(s.student_no, factories.RoleName.STUDENT, student=s)
    factories.degree_batch()
    factories.graduation_result(s)
    with pytest.raises(DomainError, match="高起专"):
        degree.apply(s, own)
    with pytest.raises(DomainError, match="高起专"):
        degree.register_application(s.id, acct("jxd001"))


def test_active_batch_matches_grade_and_level(world):
    """The active batch is the latest one of the student's grade whose level matches or is unset."""
    factories.degree_batch(name="2020级专升本", level=Level.JUNIOR_TO_BACHELOR)
    both = factories.degree_batch(name="2020级本科")
    factories.degree_batch(name="2019级本科", grade=2019)
    assert degree.active_batch(world.student1) == both


def test_register_application_is_scoped(world, batch):
    """An admin registers an application only for a student of their scope."""
    factories.graduation_result(world.student1)
    factories.graduation_result(world.student2)
    with pytest.raises(NotFound):
        degree.register_application(world.student2.id, acct("jxd001"))
    with pytest.raises(NotFound):
        degree.register_applications([world.student1.id, world.student2.id], acct("xy001"))
    assert db.session.scalar(select(func.count()).select_from(DegreeApplication)) == 0
    app = degree.register_application(world.student1.id, acct("xy001"))
    assert app.applied_by_id == acct("xy001").id


def test_student_view_shows_status_only_after_audit(world, good):
    """学生空间 shows 达标状态 only once the 学位条件审核 has run for the application."""
    view = degree.student_view(world.student1)
    assert view["applied"] and not view["audited"] and view["status_text"] == "学位条件审核尚未进行"
    db.session.execute(Grade.__table__.delete().where(Grade.student_id == world.student1.id))
    db.session.commit()
    run_audit(ids=[good["2020010001"]])
    view = degree.student_view(db.session.get(type(world.student1), world.student1.id))
    assert view["audited"] and view["result_label"] == "未达标"
    assert "学位课程无成绩：高等数学" in view["reasons"]


# --------------------------------------------------------------------------- 修改授予结论


def test_override_requires_reason_and_survives_reaudit(world, good):
    """修改授予结论 needs a reason, logs old→new and is kept by later audits."""
    app_id = good["2020010001"]
    run_audit(ids=[app_id])
    with pytest.raises(DomainError, match="核实说明"):
        degree.override([app_id], NOT_MET, "  ", acct("jxd001"))
    degree.override([app_id], NOT_MET, "线下核实：外语成绩造假", acct("jxd001"))
    db.session.commit()
    log = db.session.scalar(select(OperationLog).where(OperationLog.action == "degree_override"))
    assert (log.old_value, log.new_value, log.reason) == ("已达标", "未达标", "线下核实：外语成绩造假")
    run_audit(ids=[app_id])
    app = fresh(app_id)
    assert app.result == NOT_MET and app.computed_result == MET and app.override_result == NOT_MET


def test_override_locked_after_final_for_sites(world, good):
    """After 终审 a site admin cannot change the result; the CE admin can."""
    app_id = good["2020010001"]
    app = fresh(app_id)
    app.result, app.final_at = MET, dt.datetime(2025, 1, 1)
    db.session.commit()
    with pytest.raises(NotAllowed, match="已终审"):
        degree.override([app_id], NOT_MET, "核实", acct("jxd001"))
    assert degree.override([app_id], NOT_MET, "继教院核实", acct("jjy001")) == 1


# --------------------------------------------------------------------------- 初审


@pytest.fixture()
def audited(world, good):
    run_audit("jjy001", flt=degree.DegreeFilter())
    return good


def test_first_review_only_by_site_admin(world, audited):
    """初审 by a college admin or the CE admin is refused."""
    give_signature("xy001")
    for who in ("xy001", "jjy001"):
        with pytest.raises(NotAllowed, match="仅教学点管理员可以初审"):
            degree.first_review([audited["2020010001"]], "agree", "", acct(who))


def test_first_review_of_not_met_row_refused(world, audited):
    """A 未达标 row in the selection refuses the whole 初审, naming the student; nothing changes."""
    give_signature("jxd001")
    extra = factories.student(world.site1, world.major1, name="赵六")
    extra_id = make_app(extra, fresh(audited["2020010001"]).batch)
    run_audit(ids=[extra_id])
    with pytest.raises(DomainError, match="赵六"):
        degree.first_review([audited["2020010001"], extra_id], "agree", "", acct("jxd001"))
    db.session.rollback()
    assert fresh(audited["2020010001"]).review_opinion is None


def test_first_review_without_signature_refused(world, audited):
    """初审 needs an uploaded electronic signature."""
    with pytest.raises(DomainError, match="请先上传电子签名"):
        degree.first_review([audited["2020010001"]], "agree", "", acct("jxd001"))


def test_first_review_records_signer_and_is_idempotent(world, audited):
    """初审 records who, when and which signature version; submitting it twice has the same effect."""
    give_signature("jxd001")
    sig2 = Signature(account_id=acct("jxd001").id, version=2, path="signatures/y.png", sha256="1" * 64, width=1,
                     height=1)
    db.session.add(sig2)
    db.session.commit()
    app_id = audited["2020010001"]
    assert degree.first_review([app_id], "agree", "同意授予", acct("jxd001")) == 1
    db.session.commit()
    first = fresh(app_id)
    stamp = (first.review_opinion, first.reviewed_by_id, first.reviewed_at, first.review_signature_id)
    assert stamp[0] == ReviewOpinion.AGREE.value and stamp[3] == sig2.id
    assert degree.first_review([app_id], "agree", "同意授予", acct("jxd001")) == 0
    db.session.commit()
    again = fresh(app_id)
    assert (again.review_opinion, again.reviewed_by_id, again.reviewed_at, again.review_signature_id) == stamp
    assert count(OperationLog, OperationLog.action == "degree_review") == 1


def test_first_review_other_site_ids_not_found(world, audited):
    """A site admin naming another site's application gets NotFound and nothing changes."""
    give_signature("jxd001")
    with pytest.raises(NotFound):
        degree.first_review([audited["2020010001"], audited["2020020001"]], "agree", "", acct("jxd001"))
    db.session.rollback()
    assert fresh(audited["2020010001"]).review_opinion is None


# --------------------------------------------------------------------------- 批量终审


def review(app_ids, who="jxd001", opinion="agree"):
    if db.session.scalar(select(Signature).where(Signature.account_id == acct(who).id)) is None:
        give_signature(who)
    degree.first_review(app_ids, opinion, "", acct(who))
    db.session.commit()


def test_final_review_only_by_college_admin(world, audited):
    """批量终审 by a site admin or the CE admin is refused."""
    review([audited["2020010001"]])
    for who in ("jxd001", "jjy001"):
        with pytest.raises(NotAllowed, match="仅学院管理员可以终审"):
            degree.final_review(acct(who), ids=[audited["2020010001"]])


def test_final_review_of_unreviewed_row_refused(world, audited):
    """A ticked row without 初审 同意 refuses the 终审 with its name; nothing changes."""
    with pytest.raises(DomainError, match="张三"):
        degree.final_review(acct("xy001"), ids=[audited["2020010001"]])
    review([audited["2020010001"]], opinion="disagree")
    with pytest.raises(DomainError, match="张三"):
        degree.final_review(acct("xy001"), ids=[audited["2020010001"]])
    assert fresh(audited["2020010001"]).final_at is None


def test_final_review_by_filter_skips_and_rows_leave(world, audited):
    """By filter, ready rows are finalised, others skipped and counted; finalised rows leave the page."""
    batch = fresh(audited["2020010001"]).batch
    other = factories.student(world.site1, world.major1, name="钱七")
    factories.graduation_result(other)
    factories.language(other, 70)
    factories.grades(other, factories.ALL_PASS)
    other_id = make_app(other, batch)
    run_audit(ids=[other_id])
    review([audited["2020010001"]])
    out = degree.final_review(acct("xy001"), flt=degree.DegreeFilter(batch_id=batch.id, result=MET))
    db.session.commit()
    assert out == {"终审": 1, "跳过": 1}
    assert fresh(audited["2020010001"]).final_by_id == acct("xy001").id
    pending = db.session.scalars(degree.applications_select(degree.scope_of(acct("xy001")),
                                                            degree.DegreeFilter(batch_id=batch.id)))
    assert [a.student.name for a in pending] == ["钱七"]


def test_final_review_other_college_not_found(world, audited):
    """A college admin naming another college's application gets NotFound."""
    with pytest.raises(NotFound):
        degree.final_review(acct("xy001"), ids=[audited["2020020001"]])


# --------------------------------------------------------------------------- 发布


def publish(who="jjy001", **kw) -> Task:
    task = degree.start_publish(acct(who), **kw)
    runner.submit(task)
    db.session.expire_all()
    return db.session.get(Task, task.id)


def finalise(world, audited):
    review([audited["2020010001"]])
    review([audited["2020020001"]], who="jxd002")
    degree.final_review(acct("xy001"), ids=[audited["2020010001"]])
    degree.final_review(acct("xy002"), ids=[audited["2020020001"]])
    db.session.commit()


def test_publish_numbers_are_16_digits_and_never_twice(world, audited):
    """发布 gives each final application a 16-digit 学位证书编号 once; publishing again adds nothing."""
    finalise(world, audited)
    task = publish(flt=degree.DegreeFilter())
    assert task.state == TaskState.SUCCEEDED.value and task.summary == {"已发布": 2}
    numbers = sorted(fresh(i).degree_no for i in audited.values())
    assert numbers == ["1030442025000001", "1030442025000002"]
    assert all(re.fullmatch(r"10304" r"4" r"2025" r"\d{6}", n) for n in numbers)
    assert fresh(audited["2020010001"]).granted_on == dt.date(2025, 6, 30)
    with pytest.raises(DomainError, match="没有待发布"):
        degree.start_publish(acct("jjy001"), flt=degree.DegreeFilter())
    # the same task run again (e.g. after a worker died) numbers nothing twice
    t = db.session.get(Task, task.id)
    t.state = TaskState.FAILED.value
    db.session.commit()
    runner.run(task.id)
    assert sorted(fresh(i).degree_no for i in audited.values()) == numbers


def test_publish_only_ce_and_only_final(world, audited):
    """Only the CE admin publishes, and only applications after 终审."""
    with pytest.raises(NotAllowed):
        degree.start_publish(acct("xy001"), flt=degree.DegreeFilter())
    with pytest.raises(DomainError, match="尚未终审"):
        degree.start_publish(acct("jjy001"), ids=[audited["2020010001"]])


def test_publish_without_grant_date_uses_today(world, audited):
    """A batch without 授予日期 grants on the day of publication (Asia/Shanghai)."""
    finalise(world, audited)
    b = fresh(audited["2020010001"]).batch
    b.grant_date = None
    db.session.commit()
    publish(ids=[audited["2020010001"]])
    assert fresh(audited["2020010001"]).granted_on == local_now().date()
    assert fresh(audited["2020020001"]).degree_no is None


# --------------------------------------------------------------------------- scope in every action


def test_other_organisation_ids_refused_everywhere(world, audited):
    """Every action given another organisation's ids raises NotFound and changes nothing."""
    give_signature("jxd001")
    foreign = audited["2020020001"]
    calls = [
        lambda: degree.start_audit(acct("jxd001"), ids=[foreign]),
        lambda: degree.override([foreign], NOT_MET, "x", acct("jxd001")),
        lambda: degree.first_review([foreign], "agree", "", acct("jxd001")),
        lambda: degree.final_review(acct("xy001"), ids=[foreign]),
        lambda: degree.register_application(world.student2.id, acct("jxd001")),
        lambda: degree.application_detail(degree.scope_of(acct("xy001")), foreign),
    ]
    before = (fresh(foreign).result, fresh(foreign).review_opinion, fresh(foreign).final_at)
    for call in calls:
        with pytest.raises(NotFound):
            call()
        db.session.rollback()
    assert (fresh(foreign).result, fresh(foreign).review_opinion, fresh(foreign).final_at) == before
    assert db.session.scalar(select(func.count()).select_from(Task).where(Task.kind == "degree_audit")) == 1


# --------------------------------------------------------------------------- dashboard


def test_degree_counts_group_by_site_and_college(world, audited):
    """degree_counts gives per-site and per-college figures, limited to the scope."""
    review([audited["2020010001"]])
    rows = degree.degree_counts(degree.scope_of(acct("jjy001")))
    site1 = next(r for r in rows if r["kind"] == "site" and r["org_id"] == world.site1.id)
    counts = (site1["已申请"], site1["已达标"], site1["未达标"], site1["初审"], site1["终审"], site1["已授予"])
    assert counts == (1, 1, 0, 1, 0, 0)
    assert {r["kind"] for r in rows} == {"site", "college"} and len(rows) == 4
    mine = degree.degree_counts(degree.scope_of(acct("jxd001")))
    assert {(r["kind"], r["org_id"]) for r in mine} == {("site", world.site1.id), ("college", world.college1.id)}
