"""数据导入 page through the role clients: CE admin only, templates, upload to task, report download."""
from __future__ import annotations

import io
from urllib.parse import quote

import openpyxl
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.imports import reader
from app.imports.schema import KINDS, PLANS, STUDENTS
from app.imports.validate import validate
from app.models import Student, Task
from app.services.imports import build_lookups
from app.statuses import TaskState
from tests.imports.builders import student_row, students_xlsx, xlsx

SUBMITTED = "导入任务已提交，可在任务中心查看结果"


def tasks_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Task))


def last_task() -> Task:
    return db.session.scalar(select(Task).order_by(Task.id.desc()).limit(1))


def upload(client, data: bytes, name: str = "学生名单.xlsx", kind: str = "students"):
    return client.post("/imports/upload", data={"kind": kind, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_ce_admin_sees_the_page_with_the_four_kinds_and_templates(world, ce_client):
    """The page offers 学生学籍, 教学计划（含课程）, 成绩, 学位外语成绩, an upload form with CSRF and template links."""
    page = ce_client.get("/imports/").get_data(as_text=True)
    for text in ["数据导入", "学生学籍", "教学计划（含课程）", "成绩", "学位外语成绩", 'name="csrf_token"',
                 'enctype="multipart/form-data"', "下载模板", "/imports/template/plans", "身份证号"]:
        assert text in page, text
    assert "数据导入" in ce_client.get("/").get_data(as_text=True)  # in the 基础数据 menu


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_template_downloads_as_xlsx_under_its_chinese_name(world, ce_client, kind):
    """/imports/template/<kind>: an xlsx with the header row and one example row, named 学生学籍导入模板.xlsx etc."""
    r = ce_client.get(f"/imports/template/{kind}")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"filename*=UTF-8''{quote(KINDS[kind].template_name)}" in r.headers["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).worksheets[0]
    assert [c.value for c in ws[1]] == list(KINDS[kind].headers)
    assert ws.max_row == 2


@pytest.mark.parametrize("kind", [STUDENTS, PLANS])
def test_the_example_rows_of_the_templates_are_valid_data(world, ce_client, kind):
    """The example row names a real 专业/教学点 and passes validation, so the template shows a correct row."""
    data = ce_client.get(f"/imports/template/{kind.key}").data
    rows = reader.read_rows(data, kind)
    assert validate(kind.key, rows, build_lookups(kind.key, rows))[1] == []


def test_an_unknown_template_is_404(world, ce_client):
    """Only the four kinds have templates."""
    assert ce_client.get("/imports/template/teachers").status_code == 404


def test_upload_creates_an_import_task_that_imports_the_file(world, ce_client):
    """Upload → task 数据导入 with the Chinese file name → 处理成功 with the counts; flash says where to look."""
    r = upload(ce_client, students_xlsx(3))
    assert r.status_code == 302 and "/imports/" in r.headers["Location"]
    task = last_task()
    assert task.kind == "import" and task.state == TaskState.SUCCEEDED.value, task.error
    assert task.params["filename"] == "学生名单.xlsx" and task.scope_text == "学生学籍：学生名单.xlsx"
    assert task.summary == {"新增": 3, "更新": 0, "未变": 0}
    page = ce_client.get("/imports/").get_data(as_text=True)
    assert SUBMITTED in page and "新增 3，更新 0，未变 0" in page
    assert db.session.scalar(select(func.count()).select_from(Student)) == 5


def test_a_refused_import_offers_its_error_report_in_the_task_center(world, ce_client):
    """A failed import with errors: 任务中心 shows 失败, the message and a 下载 link to the report."""
    upload(ce_client, xlsx(STUDENTS.headers, [student_row(1, 专业="天文学")]), name="新生.xlsx")
    task = last_task()
    assert task.state == TaskState.FAILED.value
    page = ce_client.get("/tasks/").get_data(as_text=True)
    assert "共 1 处错误，未导入任何数据，请下载错误报告" in page
    assert f"/tasks/download/{task.id}" in page
    dl = ce_client.get(f"/tasks/download/{task.id}")
    assert dl.status_code == 200
    assert f"filename*=UTF-8''{quote('导入错误报告_新生.xlsx')}" in dl.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(dl.data)).worksheets[0].iter_rows(values_only=True))
    assert rows == [("行号", "列", "问题", "原值"), (2, "专业", "专业不存在：天文学", "天文学")]
    assert db.session.scalar(select(func.count()).select_from(Student)) == 2


def test_a_non_xlsx_upload_fails_its_task_with_a_chinese_message(world, ce_client):
    """A text file named .xlsx is accepted as an upload but its task fails: 文件不是有效的 Excel (.xlsx) 文件."""
    upload(ce_client, "学号,姓名\n1,张三\n".encode(), name="名单.xlsx")
    task = last_task()
    assert task.state == TaskState.FAILED.value and task.error.startswith("文件不是有效的 Excel (.xlsx) 文件")
    assert task.result_path is None


def test_wrong_file_types_and_missing_files_are_refused_without_a_task(world, ce_client):
    """An .xls name or no file at all: a flashed Chinese message and no task."""
    upload(ce_client, b"\xd0\xcf\x11\xe0", name="旧名单.xls")
    page = ce_client.get("/imports/").get_data(as_text=True)
    assert "请上传 .xlsx 格式的 Excel 文件" in page
    ce_client.post("/imports/upload", data={"kind": "students"}, content_type="multipart/form-data")
    assert "请选择要导入的 Excel 文件" in ce_client.get("/imports/").get_data(as_text=True)
    assert tasks_count() == 0


def test_an_upload_without_csrf_token_is_refused(world, ce_client):
    """The upload form is CSRF-protected like every POST."""
    r = ce_client.post("/imports/upload", csrf=False, content_type="multipart/form-data",
                       data={"kind": "students", "file": (io.BytesIO(students_xlsx(1)), "a.xlsx")})
    assert r.status_code == 400 and tasks_count() == 0


@pytest.mark.parametrize("client_name", ["college_client", "site_client", "site2_client", "student_client"])
def test_only_the_ce_admin_may_import(world, request, client_name):
    """College, site and student accounts get 403 on the page, the templates and the upload; nothing is created."""
    client = request.getfixturevalue(client_name)
    assert client.get("/imports/").status_code == 403
    assert client.get("/imports/template/students").status_code == 403
    assert upload(client, students_xlsx(1)).status_code == 403
    assert tasks_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Student)) == 2
