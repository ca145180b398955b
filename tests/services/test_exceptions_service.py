"""课程替代 / 免修 / 学分认定 through the service: validation (all-or-nothing), the approval workflow, the
operation log, and the audit, 同步课程数据 and the degree figures honouring approved exceptions only."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CourseException, OperationLog, Student
from app.security import Scope
from app.services import degree, exceptions, facts, graduation
from app.services.errors import Conflict, DomainError, NotAllowed, NotFound
from app.services.sync import sync_course_data
from app.statuses import ExceptionStatus, GraduationResult
from tests import factories
from tests.services.test_graduation_service import account, audit_row, audit_site1

SITE1 = "jxd001"
CE = Scope("all")


def site1(world) -> Scope:
    return Scope("site", org_id=world.site1.id)


def entry(student: Student, **kw) -> exceptions.ExceptionInput:
    base = {"course_code": "C02", "kind": "substitute", "reason": "旧计划课程学术英语已通过",
            "substitute_code": "X02"}
    return exceptions.ExceptionInput.from_mapping(student.id, {**base, **kw})


@pytest.fixture()
def failing(world):
    """student1: 大学英语 failed (58), 学术英语 (X02, an old plan's course) passed at 62, the rest passed."""
    factories.graduation_batch()
    factories.grades(world.student1, {"C01": 80, "C02": 58, "C03": 70, "E01": 90, "E02": 75, "X02": 62})
    db.session.commit()
    return world.student1


def test_substitution_entered_approved_and_audited(world, failing):
    """Entered by the site admin (待审核: no effect), approved by the CE admin: the re-audit is 预毕业 with a
    line naming the substitution; each step is in the operation log; 同步课程数据 counts the course."""
    row = exceptions.create(entry(failing), actor=account(SITE1), scope=site1(world))
    db.session.commit()
    assert row.status == ExceptionStatus.PENDING.value
    audit_site1(world)
    assert audit_row(failing).result == GraduationResult.FAILED.value

    exceptions.approve([row.id], actor=account("jjy001"), scope=CE)
    db.session.commit()
    audit_site1(world)
    audit = audit_row(failing)
    assert audit.result == GraduationResult.PRE_GRADUATE.value
    day = facts.approved_exceptions_for([failing.id])[failing.id]["C02"].approved_on.isoformat()
    assert [r["message"] for r in audit.computed_reasons] == [f"大学英语（以 X02 替代，{day} 批准）"]
    detail = graduation.student_detail(failing.id, site1(world))
    assert [n.message for n in detail["notes"]] == [f"大学英语（以 X02 替代，{day} 批准）"] and detail["reasons"] == []
    c02 = next(c for c in detail["courses"] if c["code"] == "C02")
    assert (c02["state_label"], c02["best"], c02["passed"]) == ("替代", 62.0, True)
    actions = list(db.session.scalars(select(OperationLog.action).where(OperationLog.record_type == "CourseException")
                                      .order_by(OperationLog.id)))
    assert actions == ["exception_create", "exception_approve"]
    sync_course_data([failing.id])
    db.session.expire_all()
    assert (failing.passed_courses, failing.earned_credits) == (5, 14)


def test_revoked_exception_no_longer_counts(world, failing):
    row = exceptions.create(entry(failing), actor=account(SITE1), scope=site1(world))
    exceptions.approve([row.id], actor=account("jjy001"), scope=CE)
    db.session.commit()
    audit_site1(world)
    assert audit_row(failing).result == GraduationResult.PRE_GRADUATE.value
    exceptions.revoke([row.id], actor=account("jjy001"), scope=CE, note="复核发现课程内容不一致")
    db.session.commit()
    assert facts.approved_exceptions_for([failing.id]) == {}
    audit_site1(world)
    audit = audit_row(failing)
    assert audit.result == GraduationResult.FAILED.value
    assert [r["code"] for r in audit.computed_reasons] == ["missing_required_course"]
    # a revoked one is no longer active: the course may get a new exception
    again = exceptions.create(entry(failing, kind="免修"), actor=account(SITE1), scope=site1(world))
    assert again.kind == "waiver"


def test_course_not_in_plan_refused(world, failing):
    with pytest.raises(DomainError, match="不在学生 2020010001 的教学计划中"):
        exceptions.create(entry(failing, course_code="X02"), actor=account(SITE1), scope=site1(world))
    assert db.session.scalar(select(func.count()).select_from(CourseException)) == 0


@pytest.mark.parametrize(("kw", "message"), [
    ({"substitute_code": "C01X"}, "替代课程 C01X 不在学生 2020010001 已通过的成绩中"),
    ({"substitute_code": "C02"}, "替代课程不能是该课程本身"),
    ({"substitute_code": ""}, "请填写替代课程代码"),
    ({"reason": ""}, "请填写理由"),
    ({"reason": "长" * 501}, "理由不能超过 500 字"),
    ({"kind": "转换"}, "类型无法识别"),
    ({"kind": "学分认定", "source_institution": "南京大学", "source_course": "英语", "credits": "0"},
     "认定学分应大于 0"),
    ({"kind": "学分认定", "source_institution": "南京大学", "source_course": "英语", "credits": "5"},
     "不超过该课程的 4 学分"),
    ({"kind": "学分认定", "source_institution": "南京大学", "source_course": "英语", "credits": "nan"},
     "认定学分应大于 0"),
    ({"kind": "学分认定", "source_institution": "南京大学", "source_course": "英语", "credits": "3", "score": "55"},
     "认定成绩须为及格"),
    ({"kind": "学分认定", "source_institution": "", "source_course": "英语", "credits": "3"}, "请填写来源院校"),
    ({"kind": "学分认定", "source_institution": "南京大学", "source_course": "英语"}, "请填写认定学分"),
])
def test_validation_messages(world, failing, kw, message):
    with pytest.raises(DomainError, match=message):
        exceptions.create(entry(failing, **kw), actor=account(SITE1), scope=site1(world))


def test_duplicate_active_refused(world, failing):
    """A second active exception for the same course is refused (a batch of them: the Excel import, all or none —
    tests/services/test_exception_imports.py)."""
    exceptions.create(entry(failing), actor=account(SITE1), scope=site1(world))
    db.session.commit()
    with pytest.raises(Conflict, match="已有待审核或已通过"):
        exceptions.create(entry(failing, kind="免修"), actor=account(SITE1), scope=site1(world))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CourseException)) == 1


def test_scope_and_roles(world, failing):
    other = factories.student(world.site2, world.major2, no="2020020009")
    factories.grades(other, {"X02": 90})
    db.session.commit()
    with pytest.raises(NotFound):
        exceptions.create(entry(other), actor=account(SITE1), scope=site1(world))
    with pytest.raises(NotAllowed):
        exceptions.create(entry(failing), actor=None, scope=Scope("student", student_id=failing.id))
    row = exceptions.create(entry(failing), actor=account(SITE1), scope=site1(world))
    with pytest.raises(NotAllowed, match="只有继教院管理员"):
        exceptions.approve([row.id], actor=account(SITE1), scope=site1(world))
    with pytest.raises(NotFound):  # another site's admin cannot even see it
        exceptions.revoke([row.id], actor=account("jxd002"), scope=Scope("site", org_id=world.site2.id), note="x")
    with pytest.raises(DomainError, match="请填写审核说明"):
        exceptions.reject([row.id], actor=account("jjy001"), scope=CE, note="")
    exceptions.reject([row.id], actor=account("jjy001"), scope=CE, note="材料不全")
    with pytest.raises(Conflict, match="不能审核通过课程替代与免修"):
        exceptions.approve([row.id], actor=account("jjy001"), scope=CE)
    assert facts.approved_exceptions_for([failing.id]) == {}


def test_waived_degree_course_and_recognition_in_degree_figures(world):
    """Degree facts: a 免修 degree course leaves the average; a substitution's score enters it."""
    s = world.student1
    factories.grades(s, {"C01": 90, "X02": 70})
    db.session.commit()
    sub = exceptions.create(entry(s), actor=account(SITE1), scope=site1(world))
    exceptions.approve([sub.id], actor=account("jjy001"), scope=CE)
    db.session.commit()
    figures = degree.gather_figures([s])[s.id]
    assert figures.best["X02"] == 70.0
    assert degree.average_text(figures) == "80"
    exceptions.revoke([sub.id], actor=account("jjy001"), scope=CE, note="改为免修")
    waiver = exceptions.create(entry(s, kind="免修"), actor=account(SITE1), scope=site1(world))
    exceptions.approve([waiver.id], actor=account("jjy001"), scope=CE)
    db.session.commit()
    assert degree.average_text(degree.gather_figures([s])[s.id]) == "90"


def test_audit_result_row_is_kept_per_student(world, failing):
    """Approved exceptions apply in every later batch audit until revoked (stored per student, not per batch)."""
    row = exceptions.create(entry(failing), actor=account(SITE1), scope=site1(world))
    exceptions.approve([row.id], actor=account("jjy001"), scope=CE)
    db.session.commit()
    for _ in range(2):
        audit_site1(world)
        assert audit_row(failing).result == GraduationResult.PRE_GRADUATE.value
        assert audit_row(failing).computed_reasons[0]["code"] == "course_exception"


def test_notes_of_a_failed_student_are_no_failure_reason(world, failing):
    """A 不合格 student with an approved 免修 keeps the note after the reasons; the dashboard's failure reasons
    do not count it."""
    from app.services.dashboard import top_reasons

    row = exceptions.create(entry(failing, course_code="E01", kind="免修"), actor=account(SITE1), scope=site1(world))
    exceptions.approve([row.id], actor=account("jjy001"), scope=CE)
    db.session.commit()
    audit_site1(world)
    assert [r["code"] for r in audit_row(failing).computed_reasons] == ["missing_required_course", "course_exception"]
    assert [r["code"] for r in top_reasons(CE)] == ["missing_required_course"]
    view = graduation.student_view(failing)
    assert view["reasons"] == ["必修课程未通过：大学英语（4学分，最高成绩 58）"]
    assert view["notes"][0].startswith("选修一（免修，")


def test_no_failure_reason_column_shows_a_note(world, failing):
    """毕业审核管理's 不合格原因 (its dialog and its xlsx column) lists the failures only; the note naming the
    approved 免修 is no reason the student fails."""
    from app.services import list_pages
    from app.services.exports import lists

    row = exceptions.create(entry(failing, course_code="E01", kind="免修"), actor=account(SITE1), scope=site1(world))
    exceptions.approve([row.id], actor=account("jjy001"), scope=CE)
    db.session.commit()
    audit_site1(world)
    assert [r.code for r in graduation.failure_reasons(audit_row(failing))] == ["missing_required_course"]
    rows = list(lists.student_list_rows("graduation", {"q": failing.student_no}, CE))
    column = lists.GRADUATION_HEADERS.index("不合格原因")
    assert rows[0][column] == "必修课程未通过：大学英语（4学分，最高成绩 58）"
    page_rows = list_pages.graduation_rows([failing])
    assert [r.code for r in page_rows[0]["reasons"]] == ["missing_required_course"]


@pytest.mark.parametrize(("kw", "field"), [
    ({"substitute_code": "C01X"}, "substitute_code"),
    ({"reason": ""}, "reason"),
    ({"kind": "转换"}, "kind"),
    ({"course_code": "X02"}, "course_code"),
    ({"kind": "学分认定", "source_institution": "南京大学", "source_course": "英语", "credits": "5"}, "credits"),
    ({"kind": "学分认定", "source_institution": "南京大学", "source_course": "英语", "credits": "3", "score": "55"},
     "score"),
    ({"kind": "学分认定", "source_institution": "", "source_course": "英语", "credits": "3"}, "source_institution"),
    ({"kind": "学分认定", "source_institution": "南京大学", "source_course": ""}, "source_course"),
])
def test_each_refusal_names_its_field(world, failing, kw, field):
    """The Excel import puts a refusal in the column of ``field`` (not by searching the message for words)."""
    with pytest.raises(DomainError) as refused:
        exceptions.build(entry(failing, **kw), site1(world))
    assert refused.value.field == field
