"""学士学位申请审批表 (issue 16): gathered from the database, exported through 任务中心, in the 毕业生档案.

The sheets are opened with openpyxl; the embedded signature is compared byte for byte with the version the
初审 was signed with (not the reviewer's newer one).
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from PIL import Image

from app import storage
from app.clock import local_today, to_local
from app.extensions import db
from app.models import DegreeApplication, DegreeBatch, Task
from app.security import scope_of
from app.services import approval_forms, exports, signatures
from app.services.errors import DomainError, NotFound
from tests import factories
from tests.services.test_exports_service import acct, finished

TITLE = "学士学位申请审批表"


def png(colour, size=(300, 100)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def export(username: str, **kw) -> Task:
    actor = acct(username)
    return finished(approval_forms.start_approval_export(actor=actor, scope=scope_of(actor),
                                                         filters=kw.pop("filters", {}), **kw))


def open_zip(task: Task) -> zipfile.ZipFile:
    return zipfile.ZipFile(storage.resolve(task.result_path))


def right_of(ws) -> dict:
    out = {}
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.column < ws.max_column:
                out.setdefault(cell.value, ws.cell(cell.row, cell.column + 1).value)
    return out


def media(xlsx: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        return [zf.read(n) for n in zf.namelist() if n.startswith("xl/media/")]


@pytest.fixture()
def applications(world):
    """student1: 未达标, 不同意 by jxd001 with signature version 1 (jxd001 uploads version 2 afterwards);
    student2: 已达标, 终审 and published with a 学位证书编号."""
    batch = DegreeBatch(name="2020级学位批次", enrol_grade=2020, apply_start=dt.datetime(2025, 3, 1),
                        apply_end=dt.datetime(2025, 3, 15), language_pass_mark=60, course_average_mark=70, year=2025)
    db.session.add(batch)
    db.session.flush()
    s1, s2 = world.student1, world.student2
    factories.grades(s1, {"C01": 58, "C02": 75})
    factories.grades(s1, {"C01": 66}, term="2022-2023-1", kind="retake")
    factories.language(s1, 52)
    factories.grades(s2, {"C01": 80, "C02": 90})
    factories.language(s2, 75)
    reviewer = acct("jxd001")
    v1 = signatures.upload_signature(reviewer, png((10, 20, 200)), reviewer)
    a1 = DegreeApplication(batch_id=batch.id, student_id=s1.id, result="not_met", computed_result="not_met",
                           computed_reasons=[{"code": "language_low", "message": "学位外语成绩 52 < 60", "detail": {}}],
                           review_opinion="disagree", review_comment="学位外语成绩未达到要求",
                           reviewed_by_id=reviewer.id, reviewed_at=dt.datetime(2025, 4, 2, 1, 30),
                           review_signature_id=v1.id)
    a2 = DegreeApplication(batch_id=batch.id, student_id=s2.id, result="met", computed_result="met",
                           final_at=dt.datetime(2025, 5, 1, 2), published_at=dt.datetime(2025, 6, 1),
                           degree_no="1030442025000001", granted_on=dt.date(2025, 6, 30))
    db.session.add_all([a1, a2])
    db.session.flush()
    v2 = signatures.upload_signature(reviewer, png((200, 20, 10), (320, 90)), reviewer)
    db.session.commit()
    return batch, a1, a2, v1, v2


def test_approval_form_prints_the_application(world, applications):
    """One sheet per application with student data, scores, result, 初审 with signer, 终审 and 证书编号."""
    _batch, _a1, _a2, v1, _v2 = applications
    task = export("jjy001")
    assert task.kind == "degree_approval_export"
    assert task.result_name == f"{TITLE}_{local_today():%Y%m%d}.zip"
    zf = open_zip(task)
    names = sorted(zf.namelist())
    assert names == [f"2020010001_张三_2020级学位批次_{TITLE}.xlsx", f"2020020001_李四_2020级学位批次_{TITLE}.xlsx"]
    ws = openpyxl.load_workbook(io.BytesIO(zf.read(names[0]))).active
    texts = [c.value for row in ws.iter_rows() for c in row if c.value]
    assert TITLE in texts
    got = right_of(ws)
    assert got["学号"] == "2020010001" and got["姓名"] == "张三" and got["专业"] == "工商管理"
    assert got["学位批次"] == "2020级学位批次"
    assert got["学位外语成绩"] == "52" and got["学位课程平均分"] == "70.5"
    assert got["学位课程成绩"] == "高等数学 66；大学英语 75"
    assert got["学位申请条件"] == "未达标：学位外语成绩 52 < 60"
    assert got["初审意见"] == "不同意" and got["初审说明"] == "学位外语成绩未达到要求"
    assert got["初审人"] == "jxd001" and got["初审日期"] == "2025-04-02"
    assert got["签名版本"] == f"第1版（上传于 {to_local(v1.created_at):%Y-%m-%d}）"  # stored UTC, shown local
    assert got["终审日期"] is None and got["学位证书编号"] is None
    published = right_of(openpyxl.load_workbook(io.BytesIO(zf.read(names[1]))).active)
    assert published["终审日期"] == "2025-05-01" and published["学位证书编号"] == "1030442025000001"
    assert published["学位授予日期"] == "2025-06-30"
    assert published["初审人"] is None and published["电子签名"] == "（无电子签名）"


def test_embedded_signature_is_the_version_signed_with(world, applications):
    """The sheet embeds exactly the stored bytes of version 1, although jxd001 has uploaded version 2 since."""
    _batch, a1, _a2, v1, v2 = applications
    zf = open_zip(export("jxd001", application_ids=[a1.id]))
    [name] = zf.namelist()
    images = media(zf.read(name))
    signed = storage.resolve(v1.path).read_bytes()
    assert signed in images
    assert storage.resolve(v2.path).read_bytes() not in images
    with Image.open(io.BytesIO(signed)) as img:
        assert img.convert("RGB").getpixel((5, 5)) == (10, 20, 200)  # the blue one uploaded first


def test_approval_export_is_scoped_like_the_summary(world, applications):
    """A site admin gets its own students only; foreign ids are NotFound; 未申请 and empty filters refused."""
    _batch, a1, a2, _v1, _v2 = applications
    assert [n.split("_")[0] for n in open_zip(export("jxd002")).namelist()] == ["2020020001"]
    actor = acct("jxd002")
    with pytest.raises(NotFound):
        approval_forms.start_approval_export(actor=actor, scope=scope_of(actor), filters={},
                                             application_ids=[a1.id])
    with pytest.raises(DomainError, match=f"{TITLE}只包含已申请的学生"):
        approval_forms.start_approval_export(actor=actor, scope=scope_of(actor), filters={"applied": "not_applied"})
    with pytest.raises(DomainError, match="没有学位申请"):
        approval_forms.start_approval_export(actor=actor, scope=scope_of(actor), filters={"result": "not_met"})
    final = export("jjy001", stage="final")
    assert [n.split("_")[0] for n in open_zip(final).namelist()] == ["2020020001"]


def test_approval_job_drops_tampered_ids(world, applications):
    """Ids written into the task params afterwards are filtered by the requester's scope again."""
    _batch, a1, a2, _v1, _v2 = applications
    actor = acct("jxd002")
    task = approval_forms.start_approval_export(actor=actor, scope=scope_of(actor), filters={},
                                                application_ids=[a2.id])
    task.params = {**task.params, "ids": [a1.id, a2.id]}
    db.session.commit()
    assert [n.split("_")[0] for n in open_zip(finished(task)).namelist()] == ["2020020001"]


def test_archive_carries_the_approval_form_of_applicants(world, applications):
    """毕业生档案: the 审批表 joins the documents of a student who applied for a degree, not of others."""
    other = factories.student(world.site1, world.major1, no="2020010002", name="王五")
    db.session.commit()
    actor = acct("jjy001")
    task = finished(exports.start_archive_export(actor=actor, scope=scope_of(actor), filters={"graduated": "all"},
                                                 student_ids=[world.student1.id, other.id], documents=["card"]))
    names = sorted(open_zip(task).namelist())
    assert names == sorted(["2020010001_张三_学籍卡.xlsx", f"2020010001_张三_2020级学位批次_{TITLE}.xlsx",
                            "2020010002_王五_学籍卡.xlsx"])
    assert task.summary["文件"] == 3
