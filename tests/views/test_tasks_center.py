"""任务中心: own organisation's tasks only, stale tasks shown as failed, downloads and retries in scope."""
from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest

from app import storage
from app.extensions import db
from app.models import Account, Task
from app.models.base import utcnow
from app.services import tasks
from app.statuses import TaskState


def actor(username: str) -> Account:
    return db.session.query(Account).filter_by(username=username).one()


def make_task(username: str, scope_text: str, *, state=TaskState.SUCCEEDED, kind="demo", **values) -> Task:
    task = tasks.create_task(kind, actor=actor(username), params={"n": 2}, scope_text=scope_text)
    task.state = state.value
    for key, value in values.items():
        setattr(task, key, value)
    db.session.commit()
    return task


@pytest.fixture()
def three(world):
    """One task per organisation: site1 (jxd001), site2 (jxd002), CE (jjy001)."""
    return {
        "site1": make_task("jxd001", "范围-南通", summary={"预毕业": 812, "不合格": 95}, done=907, total=907),
        "site2": make_task("jxd002", "范围-如皋"),
        "ce": make_task("jjy001", "范围-继教院"),
    }


def test_task_center_lists_only_own_org(three, site_client, site2_client, ce_client, college_client):
    """A site admin sees its site's tasks only; the CE admin sees all; a college admin none of theirs."""
    page = site_client.get("/tasks/").get_data(as_text=True)
    assert "范围-南通" in page and "范围-如皋" not in page and "范围-继教院" not in page
    page = site2_client.get("/tasks/").get_data(as_text=True)
    assert "范围-如皋" in page and "范围-南通" not in page
    page = ce_client.get("/tasks/").get_data(as_text=True)
    assert all(s in page for s in ("范围-南通", "范围-如皋", "范围-继教院"))
    page = college_client.get("/tasks/").get_data(as_text=True)
    assert "范围-" not in page


def test_task_row_shows_state_summary_and_progress(three, site_client):
    """A finished task reads 处理成功 with its summary and a full progress bar, in Chinese."""
    page = site_client.get("/tasks/").get_data(as_text=True)
    assert "处理成功" in page and "预毕业 812，不合格 95" in page and "演示任务" in page
    assert 'style="width: 100%"' in page and "907/907" in page


def test_audit_summary_names_kept_overrides_on_page_and_api(app, world, site_client):
    """The task center and the API's task rows say how many results are kept hand-set ones, the same words."""
    summary = {"预毕业": 56, "不合格": 26, "保留手工修改结果": 1}
    make_task("jxd001", "范围-复审", kind="graduation_audit", summary=summary, done=82, total=82)
    sentence = "预毕业 56，不合格 26；其中 1 名保留手工修改结果"
    assert sentence in site_client.get("/tasks/").get_data(as_text=True)
    from tests.api.conftest import ApiClient

    rows = ApiClient(app, "jxd001").get("/api/v1/tasks/").get_json()["result"]
    assert [r["summary_text"] for r in rows if r["scope_text"] == "范围-复审"] == [sentence]


def test_other_orgs_task_is_404_everywhere(three, site_client):
    """Download, retry and status of another organisation's task answer 404 and create nothing."""
    other = three["site2"]
    other.state = TaskState.FAILED.value
    other.result_path = storage.save("exports", b"secret", ".zip")
    other.result_name = "如皋.zip"
    db.session.commit()
    count = db.session.query(Task).count()
    assert site_client.get(f"/tasks/download/{other.id}").status_code == 404
    assert site_client.post(f"/tasks/retry/{other.id}").status_code == 404
    assert site_client.get(f"/tasks/status?ids={other.id}").status_code == 404
    assert site_client.get(f"/tasks/status?ids={three['site1'].id},{other.id}").status_code == 404
    assert db.session.query(Task).count() == count


def test_status_json_for_own_tasks(three, site_client):
    """The polling endpoint reports state text, progress and summary of own tasks."""
    data = site_client.get(f"/tasks/status?ids={three['site1'].id}").get_json()
    assert data["tasks"][0]["state_text"] == "处理成功"
    assert data["tasks"][0]["percent"] == 100
    assert data["tasks"][0]["summary"] == "预毕业 812，不合格 95"
    assert data["tasks"][0]["open"] is False


def test_stale_running_task_shows_failed(world, site_client):
    """A RUNNING task whose heartbeat is older than TASK_STALE_SECONDS is shown, and stored, as 失败."""
    old = utcnow() - dt.timedelta(hours=2)
    task = make_task("jxd001", "范围-僵死", state=TaskState.RUNNING, started_at=old, heartbeat_at=old, total=10, done=3)
    page = site_client.get("/tasks/").get_data(as_text=True)
    row = page[page.index(f'id="task-{task.id}"'):]
    row = row[:row.index("</tr>")]
    assert "失败" in row and "执行中" not in row and tasks.STALE_MESSAGE in row
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == TaskState.FAILED.value


def test_fresh_running_task_stays_running(world, site_client):
    """A RUNNING task with a recent heartbeat is not reaped, and the status endpoint says so."""
    task = make_task("jxd001", "范围-进行", state=TaskState.RUNNING, started_at=utcnow(), heartbeat_at=utcnow(),
                     total=10, done=4)
    data = site_client.get(f"/tasks/status?ids={task.id}").get_json()
    assert data["tasks"][0]["state_text"] == "执行中" and data["tasks"][0]["percent"] == 40
    assert data["tasks"][0]["open"] is True


def test_retry_failed_demo_task_runs_again(world, site_client):
    """Retrying a failed task creates a new task with the same parameters that succeeds (inline jobs)."""
    failed = make_task("jxd001", "范围-重试", state=TaskState.FAILED, error="boom")
    resp = site_client.post(f"/tasks/retry/{failed.id}")
    assert resp.status_code == 302
    new = db.session.query(Task).filter_by(retry_of_id=failed.id).one()
    assert new.state == TaskState.SUCCEEDED.value and new.params == {"n": 2} and new.summary == {"计数": 2}
    assert db.session.get(Task, failed.id).state == TaskState.FAILED.value


def test_retry_of_a_successful_task_is_refused(three, site_client):
    """Only failed tasks can be retried; otherwise nothing is created."""
    count = db.session.query(Task).count()
    site_client.post(f"/tasks/retry/{three['site1'].id}")
    assert db.session.query(Task).count() == count


def test_download_uses_the_chinese_file_name(three, site_client):
    """The result file is sent as an attachment named in Chinese (RFC 5987 filename*)."""
    task = three["site1"]
    task.result_path = storage.save("exports", b"PK-zip-bytes", ".zip")
    task.result_name = "毕业生档案导出.zip"
    db.session.commit()
    resp = site_client.get(f"/tasks/download/{task.id}")
    assert resp.status_code == 200 and resp.data == b"PK-zip-bytes"
    disposition = resp.headers["Content-Disposition"]
    assert "attachment" in disposition
    assert "filename*=UTF-8''" + urllib.parse.quote("毕业生档案导出.zip") in disposition
    assert site_client.get(f"/tasks/download/{three['site1'].id + 1000}").status_code == 404


def test_students_cannot_open_the_task_center(three, student_client):
    """Students get 403 on the task center and its endpoints."""
    assert student_client.get("/tasks/").status_code == 403
    assert student_client.get(f"/tasks/download/{three['site1'].id}").status_code == 403
    assert student_client.post(f"/tasks/retry/{three['site1'].id}").status_code == 403


def test_task_center_is_a_fab_list_with_its_sort_and_pages(three, ce_client, site_client):
    """FAB's own sort and page arguments work; bad ones are ignored; the scope still holds on every page."""
    page = ce_client.get("/tasks/?_oc_TaskView=id&_od_TaskView=asc&psize_TaskView=1").get_data(as_text=True)
    assert "范围-南通" in page and "范围-如皋" not in page and "共 3 个任务" in page
    page = ce_client.get("/tasks/?_oc_TaskView=id&_od_TaskView=asc&psize_TaskView=1&page_TaskView=2")
    assert "范围-继教院" in page.get_data(as_text=True)
    assert ce_client.get("/tasks/?_oc_TaskView=params&_od_TaskView=asc").status_code == 400  # input_guard
    for url in ("/tasks/?_flt_9_kind=demo", "/tasks/?page_TaskView=2000000000", "/tasks/?psize_TaskView=100000"):
        assert ce_client.get(url).status_code == 200, url
    page = site_client.get("/tasks/?psize_TaskView=100&page_TaskView=0").get_data(as_text=True)
    assert "范围-南通" in page and "范围-如皋" not in page and "共 1 个任务" in page
