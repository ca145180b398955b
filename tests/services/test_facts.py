"""Plans and best scores are read the same way by every workflow (app/services/facts.py)."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.jobs import runner
from app.services import degree, facts, graduation
from app.statuses import CourseNature, Level
from tests import factories


def test_a_repeating_student_follows_the_plan_of_the_study_grade(world):
    """After 留级 (学习年级 2021, 学籍年级 2020) both audits use the 2021 plan, not the 2020 one."""
    later = factories.plan(world.major1, Level.HIGH_TO_BACHELOR, 2021, min_total=4, min_elective=0, courses=[
        ("N01", "新课程", 4, CourseNature.REQUIRED, True),
    ])
    s = factories.student(world.site1, world.major1, no="2020019999", name="王留级")
    s.study_grade = 2021
    factories.grades(s, {"N01": 80})
    db.session.commit()

    assert facts.plan_key(s) == (world.major1.id, Level.HIGH_TO_BACHELOR.value, 2021)
    plan_id, plan = facts.load_plans([facts.plan_key(s)])[facts.plan_key(s)]
    assert plan_id == later.id and [c.code for c in plan.courses] == ["N01"]
    assert graduation.preview(s).ok
    assert degree.gather_facts([s])[s.id].plan == plan


def test_best_attempt_counts_across_exam_kinds(world):
    """A failed 正考 followed by a passed 补考: the best score (the 补考) is the course's score."""
    s = world.student1
    factories.grades(s, {"C01": 45}, term="2021-2022-1", kind="regular")
    factories.grades(s, {"C01": 72}, term="2021-2022-2", kind="makeup")
    assert facts.best_scores_for([s.id])[s.id] == {"C01": 72.0}


def test_keys_without_a_plan_are_absent(world):
    """No plan for (专业, 层次, 年级) means the key is simply missing (the rules then say no_plan)."""
    missing = (world.major1.id, Level.HIGH_TO_JUNIOR.value, 2099)
    assert missing not in facts.load_plans([missing])


def test_bulk_insert_round_trips_awkward_values(world):
    """``bulk_insert`` (COPY on PostgreSQL) stores exactly what ``table.insert()`` would: NULL vs empty
    string, separators and backslashes in text and JSON, Chinese, datetimes, Python-side defaults."""
    import datetime as dt

    from sqlalchemy import select

    from app.models import OperationLog

    t = OperationLog.__table__
    at = dt.datetime(2026, 12, 1, 6, 30, 15, 123456)
    awkward = "制表\t换行\n回车\r反斜杠\\N \\t 引号\"'，=1+1"
    facts.bulk_insert(t, [
        {"at": at, "actor_name": "系统", "action": "graduation_audit", "record_type": "Task", "old_value": None,
         "new_value": "", "reason": awkward, "student_id": 7},
    ])
    facts.bulk_insert(t, [  # no "at": the default applies
        {"actor_name": awkward, "action": "graduation_audit", "record_type": "Task", "old_value": "\\",
         "new_value": "\\N"},
    ])
    rows = db.session.execute(select(t).order_by(t.c.id)).mappings().all()[-2:]
    assert rows[0]["at"] == at and rows[0]["old_value"] is None and rows[0]["new_value"] == ""
    assert rows[0]["reason"] == awkward and rows[0]["student_id"] == 7 and rows[0]["site_id"] is None
    assert rows[1]["actor_name"] == awkward and rows[1]["old_value"] == "\\" and rows[1]["new_value"] == "\\N"
    assert rows[1]["at"] is not None  # the column's Python-side default (utcnow) was applied


def test_bulk_insert_round_trips_json_and_numbers(world):
    """JSON columns (reasons) and floats survive ``bulk_insert`` unchanged, empty lists included."""
    import datetime as dt

    from sqlalchemy import select

    from app.models import GraduationSnapshot

    t = GraduationSnapshot.__table__
    reasons = [{"code": "missing_required_course", "message": "必修课程未通过：高等数学（4学分，最高成绩 52）\t\n\\",
                "detail": {"credits": 4.0, "best_score": 52.5, "course_code": "C\\01"}}]
    now = dt.datetime(2026, 12, 1, 7, 0, 0)
    facts.bulk_insert(t, [
        {"task_id": 1, "student_id": 11, "batch_id": 1, "result": "failed", "reasons": reasons,
         "passed_courses": 30, "earned_credits": 80.5, "created_at": now},
        {"task_id": 1, "student_id": 12, "batch_id": 1, "result": "pre_graduate", "reasons": [],
         "passed_courses": 0, "earned_credits": 0.1 + 0.2, "created_at": now},
    ])
    got = {r.student_id: r for r in db.session.execute(select(t).where(t.c.task_id == 1))}
    assert got[11].reasons == reasons and got[11].earned_credits == 80.5 and got[11].passed_courses == 30
    assert got[12].reasons == [] and got[12].earned_credits == 0.1 + 0.2 and got[12].created_at == now


def test_the_raw_cursor_paths_raise_as_sqlalchemy_does(world):
    """COPY, ``execute_values`` and the plain fetches use the DBAPI cursor directly; their errors still
    arrive as SQLAlchemy's ``DBAPIError``, and a lost connection (a PostgreSQL restart) is marked
    ``connection_invalidated``, which is what 任务中心's 数据库连接中断 message and the failure write's
    retry go by. Before, a restart inside the audit's bulk UPDATE showed psycopg2's English text."""
    from sqlalchemy import column, create_engine, select, table, text
    from sqlalchemy.exc import DBAPIError

    from app.models import OperationLog

    with pytest.raises(DBAPIError) as bad:
        facts.raw_rows(select(column("no_such_column")).select_from(table("student")))
    assert not bad.value.connection_invalidated
    db.session.rollback()
    if db.engine.dialect.name != "postgresql":
        return
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    other = create_engine(db.engine.url)
    with other.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    other.dispose()
    row = {"actor_name": "系统", "action": "graduation_audit", "record_type": "Task"}
    with pytest.raises(DBAPIError) as lost:
        facts.bulk_insert(OperationLog.__table__, [row])
    assert lost.value.connection_invalidated
    assert runner._failure_message(lost.value) == runner.DB_LOST_MESSAGE
    db.session.rollback()  # the session recovers on a new connection
    facts.bulk_insert(OperationLog.__table__, [row])
    db.session.commit()
    assert db.session.scalar(select(OperationLog.id).where(OperationLog.actor_name == "系统")) is not None
