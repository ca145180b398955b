"""Excel imports through the service and the task runner: all rows or none, error reports, upserts, round trip."""
from __future__ import annotations

import datetime as dt
import io
import time

import openpyxl
import pytest
from sqlalchemy import delete, func, select, update

from app import storage
from app.extensions import db
from app.imports.schema import GRADES, LANGUAGE, PLANS, STUDENTS
from app.jobs import runner
from app.models import (
    DegreeApplication,
    Grade,
    GraduateForm,
    GraduationAudit,
    LanguageScore,
    OperationLog,
    Student,
    Task,
    TeachingPlan,
)
from app.models.account import Account
from app.security import scope_of
from app.services import exports, imports, tasks
from app.services.errors import Conflict, DomainError
from app.statuses import TaskState
from tests import factories
from tests.imports.builders import id_card, student_row, students_xlsx, xlsx

FIELDS = ("student_no", "name", "gender", "id_card", "birth_date", "ethnicity", "political_status", "mobile",
          "enrol_grade", "study_grade", "level", "major_id", "college_id", "study_mode", "duration_years", "site_id",
          "status", "enrolled_on")


def ce() -> Account:
    return db.session.scalar(select(Account).where(Account.username == "jjy001"))


def run_import(kind: str, data: bytes, filename: str = "学生名单.xlsx") -> Task:
    """Upload as jjy001 and run the task inline; the reloaded task."""
    task = imports.start_import(actor=ce(), kind=kind, filename=filename, data=data)
    runner.submit(task)
    db.session.expire_all()
    return db.session.get(Task, task.id)


def succeeded(task: Task) -> dict:
    assert task.state == TaskState.SUCCEEDED.value, task.error
    return task.summary


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot() -> dict[str, tuple]:
    return {s.student_no: tuple(getattr(s, f) for f in FIELDS) for s in db.session.scalars(select(Student))}


def report_rows(task: Task) -> list[tuple]:
    ws = openpyxl.load_workbook(storage.resolve(task.result_path), read_only=True).worksheets[0]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def import_logs() -> list[OperationLog]:
    return list(db.session.scalars(select(OperationLog).where(OperationLog.action == "import")))


# --------------------------------------------------------------------------- refused files


@pytest.mark.parametrize("data", [
    "学号,姓名,性别\n2024000001,王小明,男\n".encode(),   # a text file renamed .xlsx
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8,  # .xls-like OLE2 garbage
], ids=["text", "xls"])
def test_a_file_that_is_not_xlsx_fails_the_task_and_imports_nothing(world, data):
    """The task fails at once with the Chinese message; no student, no log entry, no report."""
    before = snapshot()
    task = run_import("students", data)
    assert task.state == TaskState.FAILED.value
    assert task.error.startswith("文件不是有效的 Excel (.xlsx) 文件")
    assert task.result_path is None and task.lock_key is None
    assert snapshot() == before and import_logs() == []


def test_a_workbook_with_the_wrong_headers_fails_naming_the_missing_columns(world):
    """A grades workbook uploaded as 学生学籍: 表头与模板不一致：缺少列 …, nothing imported."""
    before = snapshot()
    task = run_import("students", xlsx(GRADES.headers, [["2020010001", "C01", "", "2024-2025-1", 80, ""]]))
    assert task.state == TaskState.FAILED.value
    assert task.error.startswith("表头与模板不一致：缺少列 姓名、性别、身份证号、出生日期")
    assert snapshot() == before


def test_upload_checks_name_size_and_emptiness_before_creating_a_task(world, app):
    """A .xls name, an empty file or one above the size limit is refused at once and creates no task."""
    with pytest.raises(DomainError, match="请上传 .xlsx 格式"):
        imports.start_import(actor=ce(), kind="students", filename="学生.xls", data=b"x")
    with pytest.raises(DomainError, match="上传的文件是空的"):
        imports.start_import(actor=ce(), kind="students", filename="学生.xlsx", data=b"")
    with pytest.raises(DomainError, match="请选择导入的数据类型"):
        imports.start_import(actor=ce(), kind="teachers", filename="学生.xlsx", data=b"x")
    app.config["IMPORT_MAX_BYTES"] = 10
    try:
        with pytest.raises(DomainError, match="文件过大"):
            imports.start_import(actor=ce(), kind="students", filename="学生.xlsx", data=b"x" * 11)
    finally:
        app.config.pop("IMPORT_MAX_BYTES")
    db.session.rollback()
    assert count(Task) == 0


def test_the_original_chinese_file_name_is_kept_in_the_task(world):
    """The stored file gets a random name; the task keeps 学生名单.xlsx (client paths removed)."""
    task = imports.start_import(actor=ce(), kind="students", filename="C:\\fakepath\\2024级 学生名单.xlsx",
                                data=students_xlsx(1))
    assert task.params["filename"] == "2024级 学生名单.xlsx"
    assert task.params["path"].startswith("imports/") and task.params["path"].endswith(".xlsx")
    assert task.scope_text == "学生学籍：2024级 学生名单.xlsx"
    assert task.lock_key == tasks.lock_key_for("import", ce())
    with pytest.raises(Conflict):
        imports.start_import(actor=ce(), kind="grades", filename="成绩.xlsx", data=b"x")


# --------------------------------------------------------------------------- all or nothing


def test_ten_thousand_rows_with_one_bad_import_nothing_and_the_report_names_the_row(world):
    """One bad 身份证号 among 10,000 rows: nothing imported, the report lists exactly that row and column."""
    rows = [student_row(i) for i in range(1, 10_001)]
    rows[6_000][STUDENTS.headers.index("身份证号")] = "110105194912310021"  # wrong check digit, Excel row 6002
    before = snapshot()
    task = run_import("students", xlsx(STUDENTS.headers, rows), filename="2024级学生.xlsx")
    assert task.state == TaskState.FAILED.value
    assert task.error == "共 1 处错误，未导入任何数据，请下载错误报告"
    assert task.result_name == "导入错误报告_2024级学生.xlsx"
    assert report_rows(task) == [("行号", "列", "问题", "原值"),
                                 (6002, "身份证号", "身份证号校验位错误（按前 17 位计算应为 X）", "110105194912310021")]
    assert snapshot() == before and count(Student) == 2 and import_logs() == []


def test_every_error_of_the_file_is_in_the_report(world):
    """Several bad rows and columns: all are listed in file order, each with the value as read."""
    rows = [student_row(1), student_row(2, 专业="天文学"), student_row(3, 性别="未知", 学籍年级=1980),
            student_row(1, 姓名="重复")]
    task = run_import("students", xlsx(STUDENTS.headers, rows))
    assert task.error == "共 4 处错误，未导入任何数据，请下载错误报告"
    assert report_rows(task)[1:] == [
        (3, "专业", "专业不存在：天文学", "天文学"),
        (4, "性别", "性别应为 男 / 女 之一", "未知"),
        (4, "学籍年级", "学籍年级超出范围（应在 1990–2026 之间）".replace("2026", str(dt.date.today().year + 1)),
         1980),
        (5, "学号", "学号与第 2 行重复", "2024000001"),
    ]
    assert count(Student) == 2


def test_a_failed_import_can_be_retried_and_fails_the_same_way(world):
    """任务中心's retry runs the same file again: same errors, still nothing imported."""
    task = run_import("students", students_xlsx(2, 专业="天文学"))
    again = tasks.retry(task, ce())
    runner.submit(again)
    db.session.expire_all()
    again = db.session.get(Task, again.id)
    assert again.state == TaskState.FAILED.value and again.error == task.error and count(Student) == 2


def test_ten_thousand_students_import_in_seconds_and_reimport_changes_nothing(world):
    """10,000 new students import in one go (bulk, a few seconds); the same file again is all 未变."""
    data = students_xlsx(10_000)
    start = time.perf_counter()
    task = run_import("students", data)
    elapsed = time.perf_counter() - start
    assert succeeded(task) == {"新增": 10_000, "更新": 0, "未变": 0}
    assert elapsed < 60, f"10,000 students took {elapsed:.1f}s"  # a regression guard against per-row queries
    assert count(Student) == 10_002
    s = db.session.scalar(select(Student).where(Student.student_no == "2024000007"))
    assert (s.name, s.gender, s.college_id, s.site_id, s.level, s.duration_years) == (
        "学生7", "女", world.college1.id, world.site1.id, "zsb", 2.5)
    before = snapshot()
    assert succeeded(run_import("students", data)) == {"新增": 0, "更新": 0, "未变": 10_000}
    assert snapshot() == before


def test_upsert_by_student_number_updates_changed_rows_only(world):
    """An existing 学号 with a new major and site is updated (college follows the major); others stay."""
    succeeded(run_import("students", students_xlsx(3)))
    rows = [student_row(1), student_row(2, 专业="数学与应用数学", 教学点="如皋教学点", 学籍状态="休学"), student_row(3),
            student_row(4)]
    assert succeeded(run_import("students", xlsx(STUDENTS.headers, rows))) == {"新增": 1, "更新": 1, "未变": 2}
    s = db.session.scalar(select(Student).where(Student.student_no == "2024000002"))
    assert (s.major_id, s.college_id, s.site_id, s.status) == (world.major2.id, world.college2.id, world.site2.id,
                                                                "suspended")


def test_an_import_writes_one_log_entry_with_the_counts(world):
    """One 操作日志 entry per import (action import) with the counts and the file; none per row."""
    before = count(OperationLog)
    task = run_import("students", students_xlsx(5))
    succeeded(task)
    assert count(OperationLog) == before + 1
    [entry] = import_logs()
    assert (entry.actor_name, entry.record_type, entry.record_id, entry.task_id) == ("jjy001", "Task", task.id, task.id)
    assert entry.new_value == "新增 5，更新 0，未变 0"
    assert entry.reason == "学生学籍导入：学生名单.xlsx"


# --------------------------------------------------------------------------- round trip


def test_exported_students_import_back_into_an_emptied_database_unchanged(world):
    """学生学籍 list export → delete all students (orgs, majors kept) → import the export → same data, every field."""
    s3 = factories.student(world.site1, world.major1, no="2021010003", name="=SUM(1)")
    s3.gender, s3.id_card, s3.birth_date = "女", id_card(dt.date(2001, 2, 28), 22), dt.date(2001, 2, 28)
    s3.ethnicity, s3.political_status, s3.mobile = "回族", "中共党员", None
    s3.level, s3.duration_years, s3.study_mode, s3.status = "zsb", 2.5, "yeyu", "suspended"
    s3.enrol_grade, s3.study_grade, s3.enrolled_on = 2021, 2022, None
    s4 = factories.student(world.site2, world.major2, no="2019020004", name="欧阳 小明")
    s4.id_card, s4.ethnicity, s4.level, s4.duration_years = id_card(dt.date(1985, 12, 31), 913), None, "gqz", 3.0
    s4.status, s4.study_mode = "withdrawn", "feituochan"
    db.session.commit()
    before = snapshot()
    assert len(before) == 4

    export = exports.start_list_export(actor=ce(), scope=scope_of(ce()), kind="students", filters={})
    runner.submit(export)
    data = storage.resolve(db.session.get(Task, export.id).result_path).read_bytes()
    header = [c for c in next(openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
                              .iter_rows(values_only=True))]
    assert header[:len(STUDENTS.headers)] == list(STUDENTS.headers)  # template header == export header

    db.session.execute(update(Account).where(Account.student_id.isnot(None)).values(student_id=None))
    for model in (GraduateForm, Grade, LanguageScore, GraduationAudit, DegreeApplication, Student):
        db.session.execute(delete(model))
    db.session.commit()
    assert count(Student) == 0

    assert succeeded(run_import("students", data, filename=export.result_name)) == {"新增": 4, "更新": 0, "未变": 0}
    assert snapshot() == before


# --------------------------------------------------------------------------- plans, grades, language


def plan_row(code: str, name: str, credits: float, nature: str = "必修", degree: str = "否", **change) -> list:
    values = {"专业": "工商管理", "层次": "专升本", "年级": 2024, "毕业最低总学分": 12, "选修最低学分": 2,
              "课程代码": code, "课程名称": name, "学分": credits, "课程性质": nature, "学位课程": degree,
              "建议学期": 1}
    values.update(change)
    return [values[h] for h in PLANS.headers]


def test_plans_import_creates_and_updates_plans_and_courses(world):
    """A new plan with its courses is created; the existing 2020 plan gets a new course and a corrected one."""
    rows = [plan_row("B01", "基础会计", 4, degree="是"), plan_row("B02", "经济法", 3),
            plan_row("B03", "文学", 2, "选修"),
            plan_row("C01", "高等数学（上）", 4, 专业=world.major1.code, 层次="高起本", 年级=2020, 毕业最低总学分=10),
            plan_row("C09", "新课程", 2, 专业=world.major1.code, 层次="高起本", 年级=2020, 毕业最低总学分=10)]
    data = xlsx(PLANS.headers, rows)
    assert succeeded(run_import("plans", data, "教学计划.xlsx")) == {"新增": 4, "更新": 1, "未变": 0}
    new = db.session.scalar(select(TeachingPlan).where(TeachingPlan.grade == 2024))
    assert (new.major_id, new.level, new.min_total_credits, new.min_elective_credits) == (world.major1.id, "zsb", 12, 2)
    assert [(c.course_code, c.credits, c.nature, c.is_degree_course) for c in new.courses] == [
        ("B01", 4, "required", True), ("B02", 3, "required", False), ("B03", 2, "elective", False)]
    old = {c.course_code: c.course_name for c in db.session.get(TeachingPlan, world.plan1.id).courses}
    assert old["C01"] == "高等数学（上）" and old["C09"] == "新课程" and "E02" in old  # unmentioned courses kept
    assert succeeded(run_import("plans", data, "教学计划.xlsx")) == {"新增": 0, "更新": 0, "未变": 5}


def test_a_changed_plan_minimum_counts_its_rows_as_updated(world):
    """Raising 毕业最低总学分 of a plan updates the plan; its unchanged course rows count as 更新."""
    rows = [plan_row("B01", "基础会计", 4), plan_row("B02", "经济法", 3)]
    succeeded(run_import("plans", xlsx(PLANS.headers, rows)))
    rows = [plan_row("B01", "基础会计", 4, 毕业最低总学分=20), plan_row("B02", "经济法", 3, 毕业最低总学分=20)]
    assert succeeded(run_import("plans", xlsx(PLANS.headers, rows))) == {"新增": 0, "更新": 2, "未变": 0}
    assert db.session.scalar(select(TeachingPlan.min_total_credits).where(TeachingPlan.grade == 2024)) == 20
    assert count(TeachingPlan) == 3


def grade_row(no: str, code: str, score, term: str = "2023-2024-1", kind: str | None = None) -> list:
    return [no, code, None, term, score, kind]


def test_grades_import_upserts_attempts_by_student_course_term_and_kind(world):
    """New attempts are added, a corrected score updated, the same file again changes nothing."""
    factories.grades(world.student1, {"C01": 50}, term="2023-2024-1")
    db.session.commit()
    rows = [grade_row("2020010001", "C01", 58), grade_row("2020010001", "C01", 75, kind="补考"),
            grade_row("2020020001", "C02", "优"), grade_row("2020020001", "E01", 60.5, term="2023-2024-2")]
    data = xlsx(GRADES.headers, rows)
    assert succeeded(run_import("grades", data, "成绩.xlsx")) == {"新增": 3, "更新": 1, "未变": 0}
    got = {(g.student_id, g.course_code, g.term, g.exam_kind): (g.score, g.raw_score, g.course_name)
           for g in db.session.scalars(select(Grade))}
    assert got == {
        (world.student1.id, "C01", "2023-2024-1", "regular"): (58.0, "58", "高等数学"),
        (world.student1.id, "C01", "2023-2024-1", "makeup"): (75.0, "75", "高等数学"),
        (world.student2.id, "C02", "2023-2024-1", "regular"): (95.0, "优", "大学英语"),
        (world.student2.id, "E01", "2023-2024-2", "regular"): (60.5, "60.5", "选修一"),
    }
    assert succeeded(run_import("grades", data, "成绩.xlsx")) == {"新增": 0, "更新": 0, "未变": 4}


def test_grades_for_unknown_students_or_courses_import_nothing(world):
    """An unknown 学号 and an unknown course among good rows: report both, import none."""
    rows = [grade_row("2020010001", "C01", 80), grade_row("2099000001", "C01", 80), grade_row("2020010001", "Z99", 80),
            grade_row("2020010001", "C02", 130)]
    task = run_import("grades", xlsx(GRADES.headers, rows), "成绩.xlsx")
    assert task.error == "共 3 处错误，未导入任何数据，请下载错误报告"
    assert [(r[0], r[1]) for r in report_rows(task)[1:]] == [(3, "学号"), (4, "课程代码"), (5, "成绩")]
    assert count(Grade) == 0


def test_language_scores_import_upserts_by_student_and_exam_date(world):
    """Scores and substitutes are stored with passed; a corrected score updates its (学号, 考试日期) row."""
    factories.language(world.student1, score=55)  # 2023-05-01
    db.session.commit()
    rows = [["2020010001", dt.date(2023, 5, 1), 65, None, None],
            ["2020020001", "2023-06-17", None, "大学英语四级", 480]]
    data = xlsx(LANGUAGE.headers, rows)
    assert succeeded(run_import("language", data, "学位外语.xlsx")) == {"新增": 1, "更新": 1, "未变": 0}
    got = {(x.student_id, x.exam_date): (x.score, x.substitute, x.substitute_score, x.passed)
           for x in db.session.scalars(select(LanguageScore))}
    assert got == {(world.student1.id, dt.date(2023, 5, 1)): (65.0, None, None, True),
                   (world.student2.id, dt.date(2023, 6, 17)): (None, "cet4", 480.0, True)}
    assert succeeded(run_import("language", data, "学位外语.xlsx")) == {"新增": 0, "更新": 0, "未变": 2}


def test_a_missing_upload_fails_with_a_message(world):
    """If the stored upload has vanished, the task fails with a Chinese message instead of a traceback."""
    task = imports.start_import(actor=ce(), kind="students", filename="学生.xlsx", data=students_xlsx(1))
    storage.resolve(task.params["path"]).unlink()
    runner.submit(task)
    db.session.expire_all()
    assert db.session.get(Task, task.id).error == "上传的文件已不存在，请重新上传"


def test_the_demo_students_exported_import_back_unchanged(app_ctx, monkeypatch):
    """The demo's own students: export 学生学籍 → empty the students → import the export → the same records."""
    from app.demo import seed_demo

    monkeypatch.setitem(app_ctx.config, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    seed_demo(students=200)
    before = snapshot()
    assert len(before) == 200

    export = exports.start_list_export(actor=ce(), scope=scope_of(ce()), kind="students", filters={})
    runner.submit(export)
    data = storage.resolve(db.session.get(Task, export.id).result_path).read_bytes()

    db.session.execute(update(Account).where(Account.student_id.isnot(None)).values(student_id=None))
    for model in (GraduateForm, Grade, LanguageScore, GraduationAudit, DegreeApplication, Student):
        db.session.execute(delete(model))
    db.session.commit()

    assert succeeded(run_import("students", data, filename=export.result_name)) == {"新增": 200, "更新": 0, "未变": 0}
    assert snapshot() == before


def test_every_import_kind_has_one_importer():
    """数据导入's kinds (app/imports/schema.KINDS) and the job's importers are the same set: a new kind cannot be
    offered on the page without its validation and writer."""
    from app.imports.schema import KINDS
    from app.services.imports import IMPORTERS

    assert set(IMPORTERS) == set(KINDS)
