"""Exports through the service on real rows: archive zip, 学位申请信息汇总表, list exports (SPEC §3.9, §4.8)."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from PIL import Image
from sqlalchemy import event, select

from app import storage
from app.clock import local_today
from app.extensions import db
from app.jobs import runner
from app.models import (
    DegreeApplication,
    DegreeBatch,
    GraduateForm,
    GraduationAudit,
    GraduationBatch,
    OperationLog,
    Task,
)
from app.models.account import Account
from app.security import Scope, scope_of
from app.services import exports, tasks
from app.services.errors import DomainError, NotFound
from app.services.exports import degree_summary
from app.statuses import EnrolmentStatus, FormState, TaskState
from tests import factories

INJECTIONS = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x"]


def acct(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def finished(task: Task) -> Task:
    """Submit (inline: runs now) and reload the task."""
    runner.submit(task)
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.state == TaskState.SUCCEEDED.value, task.error
    return task


def archive_task(username: str, *, ids=None, filters=None, documents=("card", "transcript", "form")) -> Task:
    actor = acct(username)
    filters = {"graduated": "all"} if filters is None else filters
    return finished(exports.start_archive_export(actor=actor, scope=scope_of(actor), filters=filters,
                                                 student_ids=ids, documents=documents))


def open_zip(task: Task) -> zipfile.ZipFile:
    return zipfile.ZipFile(storage.resolve(task.result_path))


def workbook(zf: zipfile.ZipFile, name: str):
    return openpyxl.load_workbook(io.BytesIO(zf.read(name))).active


def right_of(ws) -> dict:
    out = {}
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.column < ws.max_column:
                out.setdefault(cell.value, ws.cell(cell.row, cell.column + 1).value)
    return out


def store_photo(student) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (240, 336), (90, 120, 200)).save(buf, "JPEG")
    student.photo_path = storage.save("photos", buf.getvalue(), ".jpg")


@pytest.fixture()
def graduate(world):
    """student1 with grades over two terms (one failed then passed), a form, a photo, and a diploma."""
    s = world.student1
    factories.grades(s, {"C01": 55, "C02": 75, "C03": "良"}, term="2020-2021-1")
    factories.grades(s, {"C01": 70}, term="2020-2021-2", kind="makeup")
    factories.grades(s, {"E01": 90, "X99": 88}, term="2020-2021-2")
    form = db.session.scalar(select(GraduateForm).where(GraduateForm.student_id == s.id))
    form.self_assessment = "本人在校期间遵纪守法，刻苦学习。"
    form.site_opinion = "同意毕业"
    form.college_opinion = "同意"
    form.state = FormState.REVIEWED.value
    store_photo(s)
    batch = GraduationBatch(name="2020级高起本", enrol_grade=2020, study_grade=2020, level="gqb",
                            confirm_start=dt.datetime(2024, 11, 25), confirm_end=dt.datetime(2024, 12, 6),
                            diploma_year=2025, graduation_date=dt.date(2025, 1, 10))
    db.session.add(batch)
    db.session.flush()
    db.session.add(GraduationAudit(student_id=s.id, batch_id=batch.id, result="pre_graduate",
                                   confirmed_at=dt.datetime(2024, 11, 26), published_at=dt.datetime(2024, 12, 20),
                                   diploma_no="103045202505000001", graduation_date=dt.date(2025, 1, 10)))
    s.status = EnrolmentStatus.GRADUATED.value
    db.session.commit()
    return s


# --------------------------------------------------------------------------- 毕业生档案


def test_archive_documents_match_the_database(world, graduate):
    """学籍卡, 成绩单 and 毕业生登记表 of a known graduate hold exactly its rows, photo embedded."""
    task = archive_task("jxd001", ids=[graduate.id])
    assert task.result_name == f"毕业生档案_{local_today():%Y%m%d}.zip"
    zf = open_zip(task)
    card = workbook(zf, "2020010001_张三_学籍卡.xlsx")
    got = right_of(card)
    assert card["A1"].value == "南通大学继续教育学院" and card["A2"].value == "学籍卡"
    expected = {
        "学号": "2020010001", "姓名": "张三", "性别": "男", "身份证号": "11010519491231002X",
        "出生日期": "1998-01-01", "民族": "汉族", "政治面貌": "群众", "手机号": "13800000000",
        "学籍年级": "2020", "学习年级": "2020", "层次": "高起本", "专业": "工商管理", "学习形式": "函授",
        "学制": "5年", "教学点": "南通教学点", "二级学院": "管理学院", "入学日期": "2020-03-01",
        "学籍状态": "毕业", "毕业证书编号": "103045202505000001", "毕业日期": "2025-01-10",
    }
    for key, value in expected.items():
        assert got[key] == value, key
    assert card._images

    ts = workbook(zf, "2020010001_张三_成绩单.xlsx")
    rows = [tuple(c.value for c in r[:5]) for r in ts.iter_rows()]
    h = rows.index(("课程代码", "课程名称", "学分", "成绩", "考试性质"))
    assert rows[h + 1:h + 9] == [
        ("学期：2020-2021-1", None, None, None, None),
        ("C01", "高等数学", 4, "55", "正考"),
        ("C02", "大学英语", 4, "75", "正考"),
        ("C03", "管理学原理", 2, "良", "正考"),
        ("学期：2020-2021-2", None, None, None, None),
        ("C01", "高等数学", 4, "70", "补考"),
        ("E01", "选修一", 2, "90", "正考"),
        ("X99", "X99", None, "88", "正考"),  # not in the plan: no credits
    ]
    totals = right_of(ts)
    # passed plan courses C01 (best 70), C02, C03, E01 = 4 courses, 4+4+2+2 = 12 credits
    assert totals["已通过课程数"] == 4 and totals["已获总学分"] == 12
    assert totals["毕业证书编号"] == "103045202505000001"
    assert int(ts.page_setup.paperSize) == 9 and ts.print_area and ts.print_title_rows

    form = workbook(zf, "2020010001_张三_毕业生登记表.xlsx")
    got = right_of(form)
    assert got["自我鉴定"] == "本人在校期间遵纪守法，刻苦学习。"
    assert got["教学点意见"] == "同意毕业" and got["学院意见"] == "同意"
    assert got["毕业日期"] == "2025-01-10"
    assert form._images
    assert int(form.page_setup.paperSize) == 9 and form.sheet_properties.pageSetUpPr.fitToPage


def test_archive_zip_has_one_file_per_student_and_document(world):
    """3 ticked students × 3 documents = 9 files named 学号_姓名_文档.xlsx, with UTF-8 names."""
    extra = [factories.student(world.site1, world.major1, no=f"202001010{i}", name=n)
             for i, n in enumerate(["王五", "赵六"])]
    db.session.commit()
    ids = [world.student1.id] + [s.id for s in extra]
    task = archive_task("jxd001", ids=ids)
    zf = open_zip(task)
    assert sorted(zf.namelist()) == sorted(
        f"{no}_{name}_{doc}.xlsx"
        for no, name in [("2020010001", "张三"), ("2020010100", "王五"), ("2020010101", "赵六")]
        for doc in ("学籍卡", "成绩单", "毕业生登记表")
    )
    assert all(info.flag_bits & 0x800 for info in zf.infolist())
    assert task.summary == {"学生": 3, "文件": 9}
    assert task.total == 3 and task.done == 3


def test_archive_only_chosen_documents(world):
    """Only the ticked document kinds are written."""
    task = archive_task("jxd001", ids=[world.student1.id], documents=["transcript"])
    assert open_zip(task).namelist() == ["2020010001_张三_成绩单.xlsx"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_archive_keeps_formula_like_names_and_texts_literal(world, text):
    """A name or 自我鉴定 typed as a formula stays a literal string in every document."""
    s = factories.student(world.site1, world.major1, no="2020019999", name=text, form=None)
    db.session.add(GraduateForm(student_id=s.id, self_assessment=text, site_opinion=text, state="submitted"))
    db.session.commit()
    task = archive_task("jxd001", ids=[s.id])
    zf = open_zip(task)
    for name in zf.namelist():
        ws = workbook(zf, name)
        hits = [c for row in ws.iter_rows() for c in row if c.value == text]
        assert hits, name
        assert all(c.data_type == "s" for c in hits)
    assert right_of(workbook(zf, [n for n in zf.namelist() if n.endswith("毕业生登记表.xlsx")][0]))["自我鉴定"] == text


def test_archive_file_names_never_contain_path_separators(world):
    """A name with / or : cannot create folders or invalid names inside the zip."""
    s = factories.student(world.site1, world.major1, no="2020018888", name="a/b:c")
    db.session.commit()
    task = archive_task("jxd001", ids=[s.id], documents=["card"])
    assert open_zip(task).namelist() == ["2020018888_a_b_c_学籍卡.xlsx"]


def test_archive_refuses_ids_outside_the_scope(world):
    """jxd001 asking for jxd002's student is refused before any task exists."""
    actor = acct("jxd001")
    with pytest.raises(NotFound):
        exports.start_archive_export(actor=actor, scope=scope_of(actor), filters={}, student_ids=[world.student2.id],
                                     documents=["card"])
    db.session.rollback()
    assert db.session.scalar(select(Task.id)) is None


def test_archive_job_drops_tampered_ids(world):
    """A task whose params were tampered with still exports only students of the requester's scope."""
    actor = acct("jxd001")
    task = tasks.create_task("archive_export", actor=actor, params={
        "scope": {"kind": "site", "org_id": world.site1.id, "student_id": None},
        "documents": ["card"], "student_ids": [world.student1.id, world.student2.id]})
    task = finished(task)
    assert open_zip(task).namelist() == ["2020010001_张三_学籍卡.xlsx"]


def test_archive_validation_messages(world):
    """No document chosen, or nobody in the filter: a clear message and no task."""
    actor = acct("jxd001")
    with pytest.raises(DomainError, match="请至少选择一种导出文档"):
        exports.start_archive_export(actor=actor, scope=scope_of(actor), filters={}, student_ids=[], documents=[])
    with pytest.raises(DomainError, match="当前筛选条件下没有学生"):  # nobody has graduated yet
        exports.start_archive_export(actor=actor, scope=scope_of(actor), filters={"graduated": "yes"},
                                     student_ids=[], documents=["card"])
    db.session.rollback()
    assert db.session.scalar(select(Task.id)) is None


def test_archive_filter_selects_students_of_the_filter_in_scope(world, graduate):
    """Without ticks the export covers the filter (已毕业 by default) inside the scope only."""
    factories.student(world.site1, world.major1, no="2020010002", name="王五")  # 在籍: not in 已毕业
    db.session.commit()
    task = archive_task("jxd001", filters={}, documents=["card"])
    assert open_zip(task).namelist() == ["2020010001_张三_学籍卡.xlsx"]
    task = archive_task("jjy001", filters={"graduated": "all"}, documents=["card"])
    assert len(open_zip(task).namelist()) == 3


def test_archive_gathering_is_set_based(world):
    """Gathering 12 students takes as many queries as gathering 2 (never one query per student)."""
    ids = [world.student1.id]
    for i in range(11):
        s = factories.student(world.site1, world.major1, name=f"学生{i}")
        factories.grades(s, factories.ALL_PASS)
        ids.append(s.id)
    db.session.commit()
    scope = Scope("site", org_id=world.site1.id)

    def count(chunk):
        seen = []
        listener = lambda *_a: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            records = exports.load_archive_records(chunk, scope, ["card", "transcript", "form"])
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len(records) == len(chunk)
        return len(seen)

    assert count(ids[:2]) == count(ids)


def test_archive_with_missing_photo_file_still_exports(world):
    """A photo path whose file is gone gives a card with an empty photo box, not a failed task."""
    task = archive_task("jxd001", ids=[world.student1.id], documents=["card"])  # factories' photos/test.jpg is absent
    ws = workbook(open_zip(task), "2020010001_张三_学籍卡.xlsx")
    assert not ws._images


# --------------------------------------------------------------------------- 学位申请信息汇总表


@pytest.fixture()
def degree_rows(world):
    """A batch, student1's audited application (未达标, reviewed) and student2's (已达标, published)."""
    batch = DegreeBatch(name="2020级学位批次", enrol_grade=2020, apply_start=dt.datetime(2025, 3, 1),
                        apply_end=dt.datetime(2025, 3, 15), language_pass_mark=60, course_average_mark=70, year=2025)
    db.session.add(batch)
    db.session.flush()
    s1, s2 = world.student1, world.student2
    factories.grades(s1, {"C01": 58, "C02": 75})
    factories.grades(s1, {"C01": 66}, term="2022-2023-1", kind="retake")
    factories.language(s1, 52)
    factories.grades(s2, {"C01": 80, "C02": 90})
    factories.language(s2, None, substitute="cet4")
    reviewer = acct("jxd001")
    a1 = DegreeApplication(batch_id=batch.id, student_id=s1.id, result="not_met", computed_result="not_met",
                           computed_reasons=[{"code": "language_low", "message": "学位外语成绩 52 < 60", "detail": {}},
                                             {"code": "avg_low", "message": "学位课程平均分 70.5 < 70", "detail": {}}],
                           computed_at=dt.datetime(2025, 4, 1), review_opinion="disagree", review_comment="=1+1",
                           reviewed_by_id=reviewer.id, reviewed_at=dt.datetime(2025, 4, 2, 1, 30))
    a2 = DegreeApplication(batch_id=batch.id, student_id=s2.id, result="met", computed_result="not_met",
                           override_result="met", override_reason="线下核实", final_at=dt.datetime(2025, 5, 1),
                           published_at=dt.datetime(2025, 6, 1), degree_no="1030442025000001")
    db.session.add_all([a1, a2])
    db.session.commit()
    return batch, a1, a2


def summary_task(username: str, filters=None, ids=None) -> Task:
    actor = acct(username)
    return finished(exports.start_degree_summary_export(actor=actor, scope=scope_of(actor), filters=filters or {},
                                                        application_ids=ids))


def read_table(task: Task) -> list[dict]:
    ws = openpyxl.load_workbook(storage.resolve(task.result_path)).active
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_degree_summary_rows_match_the_applications(world, degree_rows):
    """One row per application with student data, scores, result, reasons, review, 终审 and 发布."""
    task = summary_task("jjy001")
    assert task.result_name == f"学位申请信息汇总表_{local_today():%Y%m%d}.xlsx"
    rows = read_table(task)
    assert [r["学号"] for r in rows] == ["2020010001", "2020020001"]
    r1, r2 = rows
    assert r1 == {
        "学位批次": "2020级学位批次", "学号": "2020010001", "姓名": "张三", "性别": "男",
        "身份证号": "11010519491231002X", "年级": "2020", "层次": "高起本", "专业": "工商管理", "教学点": "南通教学点",
        "二级学院": "管理学院", "学位外语成绩": "52", "学位课程成绩": "高等数学 66；大学英语 75",
        "学位课程平均分": "70.5", "学位申请条件是否达标": "未达标",
        "未达标原因": "学位外语成绩 52 < 60；学位课程平均分 70.5 < 70", "是否手工修改": "否", "初审意见": "不同意",
        "初审说明": "=1+1", "初审人": "jxd001", "初审时间": "2025-04-02 09:30", "终审": "未终审", "终审时间": None,
        "发布状态": "未发布", "学位证书编号": None,
    }
    assert r2["学位外语成绩"] == "大学英语四级（替代）"
    assert r2["学位申请条件是否达标"] == "已达标" and r2["未达标原因"] is None and r2["是否手工修改"] == "是"
    assert r2["终审"] == "已终审" and r2["发布状态"] == "已发布" and r2["学位证书编号"] == "1030442025000001"
    ws = openpyxl.load_workbook(storage.resolve(task.result_path)).active
    assert [c for c in ws[2] if c.value == "=1+1"][0].data_type == "s"


def test_degree_summary_is_scoped_and_filtered(world, degree_rows):
    """A site admin's summary holds only its own students; the result filter narrows it further."""
    assert [r["学号"] for r in read_table(summary_task("jxd002"))] == ["2020020001"]
    assert [r["学号"] for r in read_table(summary_task("jjy001", {"result": "not_met"}))] == ["2020010001"]


def test_degree_summary_refuses_out_of_scope_ids_and_empty_filters(world, degree_rows):
    """Ticked applications outside the scope give NotFound; an empty filter gives a message; no task."""
    _batch, a1, _a2 = degree_rows
    actor = acct("jxd002")
    with pytest.raises(NotFound):
        exports.start_degree_summary_export(actor=actor, scope=scope_of(actor), filters={}, application_ids=[a1.id])
    with pytest.raises(DomainError, match="没有学位申请"):
        exports.start_degree_summary_export(actor=actor, scope=scope_of(actor), filters={"result": "not_met"})
    db.session.rollback()
    assert db.session.scalar(select(Task.id)) is None


def test_degree_summary_streams_in_chunks(world, degree_rows, monkeypatch):
    """Rows are read in keyset chunks: a chunk size of 1 still yields every row once, in 学号 order."""
    monkeypatch.setattr(degree_summary, "SUMMARY_CHUNK", 1)
    for i in range(3):
        s = factories.student(world.site1, world.major1, no=f"20200100{50 + i}", name=f"学生{i}")
        db.session.add(DegreeApplication(batch_id=degree_rows[0].id, student_id=s.id))
    db.session.commit()
    task = summary_task("jjy001")
    assert [r["学号"] for r in read_table(task)] == ["2020010001", "2020010050", "2020010051", "2020010052",
                                                    "2020020001"]
    assert task.done == task.total == 5


# --------------------------------------------------------------------------- list exports


def list_task(username: str, kind: str, filters=None) -> Task:
    actor = acct(username)
    return finished(exports.start_list_export(actor=actor, scope=scope_of(actor), kind=kind, filters=filters or {}))


def test_student_list_export_has_the_page_columns_in_scope(world):
    """学生学籍 export: the requester's students with the page's columns, named 学生学籍_<date>.xlsx."""
    task = list_task("jxd001", "students")
    assert task.result_name == f"学生学籍_{local_today():%Y%m%d}.xlsx"
    rows = read_table(task)
    assert len(rows) == 1
    assert rows[0]["学号"] == "2020010001" and rows[0]["姓名"] == "张三" and rows[0]["教学点"] == "南通教学点"
    assert rows[0]["层次"] == "高起本" and rows[0]["学籍状态"] == "在籍" and rows[0]["已通过课程数"] == 0
    assert len(read_table(list_task("jjy001", "students"))) == 2


def test_graduate_list_export_lists_published_graduates(world, graduate):
    """毕业生列表 export: published graduates with their 毕业证书编号 and 毕业日期."""
    rows = read_table(list_task("jxd001", "graduates"))
    assert [(r["学号"], r["毕业证书编号"], r["毕业日期"], r["最终状态"]) for r in rows] == [
        ("2020010001", "103045202505000001", "2025-01-10", "已毕业")]


def test_graduation_list_export_shows_results(world, graduate):
    """毕业审核管理 export: one row per student of the filter with result and 确认状态."""
    rows = read_table(list_task("jjy001", "graduation", {"result": "pre_graduate"}))
    assert [(r["学号"], r["毕业审核结果"], r["确认状态"]) for r in rows] == [("2020010001", "预毕业", "已毕业")]


def test_oplog_export_is_scoped_like_the_page(world):
    """操作日志 export: a site admin sees its students' entries and its own actions, nothing else."""
    mine = acct("jxd001")
    db.session.add_all([
        OperationLog(actor_id=None, actor_name="系统", action="graduation_audit", record_type="GraduationAudit",
                     student_id=world.student1.id, site_id=world.site1.id, college_id=world.college1.id, new_value="A"),
        OperationLog(actor_id=None, actor_name="系统", action="graduation_audit", record_type="GraduationAudit",
                     student_id=world.student2.id, site_id=world.site2.id, college_id=world.college2.id, new_value="B"),
        OperationLog(actor_id=mine.id, actor_name="jxd001", action="signature_upload", record_type="Signature",
                     new_value="C"),
    ])
    db.session.commit()
    values = {r["新值"] for r in read_table(list_task("jxd001", "oplog"))}
    assert {"A", "C"} <= values and "B" not in values
    assert not any("2020020001" in str(v) for v in values)  # nothing about site 2's student
    rows = read_table(list_task("jxd001", "oplog", {"action": "signature_upload"}))
    assert [(r["操作"], r["操作人"], r["新值"]) for r in rows] == [("上传电子签名", "jxd001", "C")]
    assert {"A", "B", "C"} <= {r["新值"] for r in read_table(list_task("jjy001", "oplog"))}


def test_unknown_list_is_refused(world):
    """Only the four known lists can be exported."""
    actor = acct("jjy001")
    with pytest.raises(NotFound):
        exports.start_list_export(actor=actor, scope=scope_of(actor), kind="accounts", filters={})
