"""导出审批表: the FAB action of 学位申请审核管理 and 学位授予管理 (the former POST /exports/approval-forms/)."""
from __future__ import annotations

import datetime as dt
import zipfile

from sqlalchemy import func, select

from app import storage
from app.extensions import db
from app.models import DegreeApplication, DegreeBatch, Task
from app.statuses import TaskState
from tests.clients import DEGREE_AUDIT, bulk_post


def tasks_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Task))


def two_applications(world) -> tuple[DegreeApplication, DegreeApplication]:
    batch = DegreeBatch(name="2020级学位批次", enrol_grade=2020, apply_start=dt.datetime(2025, 3, 1),
                        apply_end=dt.datetime(2025, 3, 15), year=2025)
    db.session.add(batch)
    db.session.flush()
    a1 = DegreeApplication(batch_id=batch.id, student_id=world.student1.id)
    a2 = DegreeApplication(batch_id=batch.id, student_id=world.student2.id)
    db.session.add_all([a1, a2])
    db.session.commit()
    return a1, a2


def test_action_exports_the_filter_in_the_requesters_scope(world, college_client):
    """A college admin's 导出审批表 of the page's filter (after the count) gives a zip of its own students' 审批表."""
    two_applications(world)
    r = bulk_post(college_client, "approval_forms", base=DEGREE_AUDIT)
    assert r.status_code == 302 and r.headers["Location"].startswith(DEGREE_AUDIT)
    task = db.session.scalar(select(Task).order_by(Task.id.desc()).limit(1))
    assert task.kind == "degree_approval_export" and task.state == TaskState.SUCCEEDED.value, task.error
    assert task.result_name.startswith("学士学位申请审批表_") and task.result_name.endswith(".zip")
    with zipfile.ZipFile(storage.resolve(task.result_path)) as zf:
        assert [n.split("_")[0] for n in zf.namelist()] == ["2020010001"]


def test_action_refuses_foreign_ids_and_students(world, site_client, student_client):
    """Ticked applications outside the scope are 404, a student is 403; no task either way."""
    a1, a2 = two_applications(world)
    assert bulk_post(site_client, "approval_forms", base=DEGREE_AUDIT, ids=[a1.id]).status_code == 302  # its own
    before = tasks_count()
    assert bulk_post(site_client, "approval_forms", base=DEGREE_AUDIT, ids=[a2.id]).status_code == 404
    assert bulk_post(student_client, "approval_forms", base=DEGREE_AUDIT, ids=[a1.id]).status_code == 403
    assert bulk_post(student_client, "approval_forms", base=DEGREE_AUDIT, confirm=False,
                     form={"confirmed": "1"}).status_code == 403
    assert tasks_count() == before
