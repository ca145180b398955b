"""The manual's section 2 (毕业审核), steps 1–8, as one scenario through the role clients."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import GraduationAudit, OperationLog, Student, Task
from app.statuses import FormState, Level
from tests import factories
from tests.clients import bulk_post

FILTER = "_flt_0_enrol_grade=2020&_flt_0_study_grade=2020&_flt_0_level=gqb"
COHORT = {"enrol_grade": "2020", "study_grade": "2020", "level": "gqb"}


def test_manual_section_2_graduation_audit(world, login):
    """jxd001 filters, syncs, audits, reads reasons, overrides, confirms; jjy001 publishes; numbers are listed."""
    factories.graduation_batch()  # window open now
    factories.grades(world.student1, factories.ALL_PASS)
    weak = factories.student(world.site1, world.major1, no="2020010002", name="王五", form=FormState.DRAFT)
    factories.grades(weak, {"C01": 80, "C02": 75, "C03": 70, "E01": 90})
    factories.student(world.site1, world.major1, no="2020010003", name="专升本生", level=Level.JUNIOR_TO_BACHELOR)
    db.session.commit()
    jxd = login("jxd001")

    # 1. 毕业相关 → 毕业审核管理
    home = jxd.get("/").get_data(as_text=True)
    assert "毕业相关" in home and "毕业审核管理" in home and "/graduation/audit/" in home

    # 2. 学籍年级 2020, 学习年级 2020, 层次 高起本, 查询
    page = jxd.get(f"/graduation/audit/?{FILTER}").get_data(as_text=True)
    assert "2020010001" in page and "2020010002" in page
    assert "2020010003" not in page and "2020020001" not in page  # 专升本, other site

    # 3. 同步课程数据
    r = bulk_post(jxd, "sync", filters=COHORT)
    assert r.status_code == 302 and FILTER.split("&")[0] in r.headers["Location"]
    assert (db.session.get(Student, weak.id).passed_courses, db.session.get(Student, weak.id).earned_credits) == (4, 12)

    # 4. 毕业审核 (after the confirmation dialog)
    ask = bulk_post(jxd, "audit", filters=COHORT, confirm=False).get_data(as_text=True)
    assert "将对当前筛选的 2 名学生执行毕业审核，确定吗？" in ask
    assert db.session.scalars(select(Task).where(Task.kind == "graduation_audit")).first() is None
    r = bulk_post(jxd, "audit", filters=COHORT, follow_redirects=True)
    assert "任务已提交，可在任务中心查看进度" in r.get_data(as_text=True)

    # 5. 任务中心 shows success; 查询 shows the results
    task = db.session.scalars(select(Task).where(Task.kind == "graduation_audit")).one()
    assert task.state_label == "成功" and task.summary == {"预毕业": 1, "不合格": 1}
    page = jxd.get(f"/graduation/audit/?{FILTER}").get_data(as_text=True)
    assert "预毕业" in page and "不合格" in page

    # 6. click 不合格 → reasons; 修改毕业审核结果 with 核实说明
    assert f'data-target="#reasons-{weak.id}"' in page and "毕业生登记表未提交" in page
    detail = jxd.get(f"/graduation/audit/student/{weak.id}").get_data(as_text=True)
    assert "毕业生登记表未提交" in detail and "选修二" in detail
    bulk_post(jxd, "override", ids=weak.id, filters={"enrol_grade": "2020"},
              form={"override_result": "pre_graduate", "reason": "纸质登记表已线下提交"})
    row = db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == weak.id))
    assert (row.result, row.computed_result, row.override_reason) == ("pre_graduate", "failed", "纸质登记表已线下提交")
    assert db.session.scalar(select(OperationLog).where(OperationLog.action == "graduation_override")) is not None

    # 7. 毕业审核结果 预毕业, 查询, 一键确认毕业
    page = jxd.get(f"/graduation/audit/?{FILTER}&_flt_0_result=pre_graduate").get_data(as_text=True)
    assert "2020010001" in page and "2020010002" in page
    r = bulk_post(jxd, "confirm", filters={**COHORT, "result": "pre_graduate"}, follow_redirects=True)
    assert "已确认毕业 2 名学生" in r.get_data(as_text=True)
    assert "已确认" in jxd.get(f"/graduation/audit/?{FILTER}").get_data(as_text=True)

    # 8. jjy001 发布; 毕业生列表 shows final state and numbers
    jjy = login("jjy001")
    r = bulk_post(jjy, "publish", filters=COHORT)
    assert r.status_code == 302
    listing = jxd.get("/graduation/graduates/?_flt_0_enrol_grade=2020").get_data(as_text=True)
    numbers = re.findall(r"\b103045202505\d{6}\b", listing)
    assert sorted(numbers) == ["103045202505000001", "103045202505000002"]
    assert "已毕业" in listing and "2020010002" in listing
    assert db.session.get(Student, weak.id).status_label == "毕业"
