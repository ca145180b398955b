"""Formula injection through the real export handlers: every user-typed field comes out as literal text.

Names, 自我鉴定, 教学点/学院意见, override reasons (毕业 and 学位), 初审说明 and operation-log reasons are set
to strings starting with ``=``, ``+``, ``-``, ``@`` and a tab; every export of the 导出 buttons is run
(through the view, the job inline) and every cell of every workbook is read back with openpyxl.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import select

from app import storage
from app.extensions import db
from app.models import DegreeApplication, GraduateForm, Task
from app.services import oplog
from app.statuses import TaskState
from tests import factories
from tests.clients import press

PAYLOADS = ['=HYPERLINK("http://evil.example","点我")', "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+9)*cmd|' /C calc'!A0", "\t=1+1"]


@pytest.fixture()
def poisoned(world):
    """Five students of site1 whose every typed field carries one payload; published, applied, reviewed."""
    gbatch = factories.graduation_batch()
    dbatch = factories.degree_batch()
    ids = []
    for i, text in enumerate(PAYLOADS):
        s = factories.student(world.site1, world.major1, no=f"20209900{i:02d}", name=text)
        form = db.session.scalar(select(GraduateForm).where(GraduateForm.student_id == s.id))
        form.self_assessment, form.site_opinion = text, text
        factories.grades(s, factories.ALL_PASS)
        audit = factories.graduation_result(s, "failed" if i % 2 else "pre_graduate", published=not i % 2)
        audit.batch_id = gbatch.id
        audit.override_result, audit.override_reason = audit.result, text
        if not i % 2:
            audit.diploma_no, audit.graduation_date = f"1030412025050{i:05d}", dt.date(2025, 1, 10)
        db.session.add(DegreeApplication(batch_id=dbatch.id, student_id=s.id, result="met",
                                         override_result="met", override_reason=text,
                                         review_opinion="agree", review_comment=text))
        oplog.record(actor=None, action="graduation_override", record=s, student=s, new=text, reason=text)
        ids.append(s.id)
    db.session.commit()
    return ids


def cells_of(task: Task):
    """Every (workbook name, cell) of the task's result (an xlsx or a zip of them)."""
    data = storage.resolve(task.result_path).read_bytes()
    books = []
    if data[:2] == b"PK" and task.result_path.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            books = [(n, zf.read(n)) for n in zf.namelist() if n.endswith(".xlsx")]
    else:
        books = [(task.result_name, data)]
    for name, blob in books:
        wb = openpyxl.load_workbook(io.BytesIO(blob))
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    yield name, cell


EXPORTS = {
    "学生学籍": ("/exports/list", {"list": "students"}),
    "毕业审核管理": ("/exports/list", {"list": "graduation"}),
    "毕业生列表": ("/exports/list", {"list": "graduates"}),
    "操作日志": ("/exports/list", {"list": "oplog"}),
    "学位申请信息汇总表": ("/exports/degree-summary", {"stage": "any"}),
    "毕业生档案": ("/graduation/archive/export", {"documents": ["card", "transcript", "form"], "graduated": "all"}),
}


@pytest.mark.parametrize("export", list(EXPORTS))
def test_export_keeps_typed_text_literal(ce_client, poisoned, export):
    """No cell of the export is a formula; every payload that appears is the exact literal string."""
    url, form = EXPORTS[export]
    last = db.session.scalar(select(Task.id).order_by(Task.id.desc()).limit(1)) or 0
    if url.startswith("/graduation/archive"):
        form = {**form, "ids": [str(i) for i in poisoned]}
    resp = press(ce_client, url, form)  # nothing ticked: answers the count confirmation
    assert resp.status_code == 302
    task = db.session.scalar(select(Task).where(Task.id > last).order_by(Task.id.desc()).limit(1))
    assert task is not None, f"{export}: no task started"
    assert task.state == TaskState.SUCCEEDED.value, (export, task.error)
    found, formulas = set(), []
    for name, cell in cells_of(task):
        if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")
                                     and cell.data_type != "s"):
            formulas.append((name, cell.coordinate, cell.value))
        if isinstance(cell.value, str):
            for p in PAYLOADS:
                if p in cell.value:
                    assert cell.data_type in ("s", "inlineStr"), (name, cell.coordinate, cell.data_type)
                    found.add(p)
    assert not formulas, formulas[:5]
    expected = set(PAYLOADS[::2]) if export == "毕业生列表" else set(PAYLOADS)  # only the published ones
    assert found == expected, (export, expected - found)
