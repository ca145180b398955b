"""Excel import of 课程替代与免修: a class of 专升本 students with recognised credits, all rows or none."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.imports.schema import EXCEPTIONS
from app.models import CourseException, OperationLog
from app.statuses import TaskState
from tests import factories
from tests.imports.builders import xlsx
from tests.services.test_imports_service import report_rows, run_import


def rows_for(students, **kw):
    base = {"学号": None, "课程代码": "C03", "类型": "学分认定", "替代课程代码": None, "来源院校": "南通职业大学",
            "来源课程名称": "管理学基础", "认定学分": 2, "认定成绩": "合格", "理由": "专科阶段已修"}
    return [[{**base, "学号": s.student_no, **kw}[h] for h in EXCEPTIONS.headers] for s in students]


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(CourseException))


def test_a_class_with_recognised_credits_imports(world):
    students = [world.student1, world.student2,
                factories.student(world.site1, world.major1, no="2020010002", name="王五")]
    db.session.commit()
    task = run_import("exceptions", xlsx(EXCEPTIONS.headers, rows_for(students)), "学分认定.xlsx")
    assert task.state == TaskState.SUCCEEDED.value, task.error
    assert task.summary == {"新增": 3, "更新": 0, "未变": 0}
    rows = list(db.session.scalars(select(CourseException).order_by(CourseException.id)))
    assert [(r.status, r.kind, r.credits, r.score) for r in rows] == [("pending", "recognition", 2.0, None)] * 3
    assert db.session.scalar(select(func.count()).select_from(OperationLog)
                             .where(OperationLog.action == "exception_create")) == 3


def test_one_bad_row_imports_nothing_and_reports_every_problem(world):
    factories.grades(world.student1, {"X02": 70})
    db.session.commit()
    unknown = [("9999999999" if h == "学号" else v)
               for h, v in zip(EXCEPTIONS.headers, rows_for([world.student1])[0], strict=True)]
    data = [*rows_for([world.student1]), *rows_for([world.student2], 课程代码="ZZ"),
            *rows_for([world.student1], 认定学分=9),
            *rows_for([world.student1], 课程代码="C02", 类型="课程替代", 替代课程代码="X03"), unknown]
    task = run_import("exceptions", xlsx(EXCEPTIONS.headers, data), "学分认定.xlsx")
    assert task.state == TaskState.FAILED.value
    report = report_rows(task)[1:]
    assert [(r[0], r[1]) for r in report] == [(3, "课程代码"), (4, "认定学分"), (5, "替代课程代码"), (6, "学号")]
    assert "不在学生 2020020001 的教学计划中" in report[0][2]
    assert count() == 0


def test_the_same_course_twice_in_one_file_imports_nothing(world):
    """Two rows for one student and one course: the second names the first; nothing is entered (the batch
    counterpart of the one-active-exception-per-course rule)."""
    db.session.commit()
    data = [*rows_for([world.student1]), *rows_for([world.student2]), *rows_for([world.student1], 类型="免修")]
    task = run_import("exceptions", xlsx(EXCEPTIONS.headers, data), "学分认定.xlsx")
    assert task.state == TaskState.FAILED.value
    report = report_rows(task)[1:]
    assert [(r[0], r[1]) for r in report] == [(4, "课程代码")]
    assert "与第 2 行重复（同一学生同一课程）" in report[0][2]
    assert count() == 0
