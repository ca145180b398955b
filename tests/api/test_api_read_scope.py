"""REST API reads: every list and every GET by id is limited to the caller's scope, like the pages."""
from __future__ import annotations

import datetime as dt

import prison
import pytest

from app.extensions import db
from app.models import Task
from app.models.base import utcnow
from app.services import tasks
from app.statuses import TaskState

STUDENT_APIS = {
    "students": ("s1", "s2"),
    "graduation-results": ("audit1", "audit2"),
    "degree-applications": ("app1", "app2"),
}
ALL_APIS = list(STUDENT_APIS) + ["tasks"]
FORBIDDEN_KEYS = {"password", "photo_path", "result_path", "params", "lock_key", "rq_job_id"}


def rows(client, name: str, **rison) -> list[dict]:
    url = f"/api/v1/{name}/" + (f"?q={prison.dumps(rison)}" if rison else "")
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["result"]


def ids(client, name: str) -> set[int]:
    resp = client.get(f"/api/v1/{name}/")
    assert resp.status_code == 200, resp.get_json()
    return set(resp.get_json()["ids"])


def test_site_admin_lists_only_own_site(data, api):
    """jxd001 (南通教学点) lists student1's rows and never student2's; jxd002 the reverse."""
    site1, site2 = api("jxd001"), api("jxd002")
    for name, (mine, other) in STUDENT_APIS.items():
        assert ids(site1, name) == {data[mine]}, name
        assert ids(site2, name) == {data[other]}, name


def test_college_admin_lists_only_own_college(data, api):
    """xy001 (管理学院) lists the rows of its majors' students only; xy002 the other ones."""
    college1, college2 = api("xy001"), api("xy002")
    for name, (mine, other) in STUDENT_APIS.items():
        assert ids(college1, name) == {data[mine]}, name
        assert ids(college2, name) == {data[other]}, name


def test_ce_admin_lists_everything(data, api):
    """The CE admin lists both organisations' rows."""
    ce = api("jjy001")
    for name, (mine, other) in STUDENT_APIS.items():
        assert ids(ce, name) == {data[mine], data[other]}, name


@pytest.mark.parametrize("username", ["jxd001", "xy001"])
def test_get_by_id_of_other_org_is_404(data, api, username):
    """GET /<id> of another organisation's record answers 404 (as for a missing id); own record 200."""
    client = api(username)
    for name, (mine, other) in STUDENT_APIS.items():
        assert client.get(f"/api/v1/{name}/{data[mine]}").status_code == 200, name
        resp = client.get(f"/api/v1/{name}/{data[other]}")
        assert resp.status_code == 404, name
        assert resp.get_json()["message"] == "记录不存在或不在您的管理范围内"
        assert client.get(f"/api/v1/{name}/999999").status_code == 404


def test_tasks_follow_the_task_center_rule(data, api):
    """A site admin sees its site's tasks, a college admin its college's (none here), the CE admin all."""
    site1 = {r["scope_text"] for r in rows(api("jxd001"), "tasks")}
    assert site1 == {"范围-jxd001"}
    assert {r["scope_text"] for r in rows(api("jxd002"), "tasks")} == {"范围-jxd002"}
    assert rows(api("xy001"), "tasks") == []
    assert {"范围-jxd001", "范围-jxd002"} <= {r["scope_text"] for r in rows(api("jjy001"), "tasks")}


def test_other_orgs_task_by_id_is_404(data, api):
    """A site admin who guesses the other site's task id gets 404."""
    other = db.session.query(Task).filter(Task.scope_text == "范围-jxd002").one()
    mine = db.session.query(Task).filter(Task.scope_text == "范围-jxd001").one()
    client = api("jxd001")
    assert client.get(f"/api/v1/tasks/{mine.id}").status_code == 200
    assert client.get(f"/api/v1/tasks/{other.id}").status_code == 404


def test_student_gets_403_on_every_api(data, api):
    """Students have no admin pages, so no API either: lists and GET of their own records are 403."""
    client = api("2020010001")
    own = {"students": data["s1"], "graduation-results": data["audit1"], "degree-applications": data["app1"],
           "tasks": 1}
    for name in ALL_APIS:
        assert client.get(f"/api/v1/{name}/").status_code == 403, name
        resp = client.get(f"/api/v1/{name}/{own[name]}")
        assert resp.status_code == 403, name
        assert resp.get_json()["message"] == "没有权限进行此操作"


def test_filters_cannot_widen_the_scope(data, api):
    """A rison filter on another site's 学号 finds nothing: the base filter is always applied."""
    found = rows(api("jxd001"), "students", filters=[{"col": "student_no", "opr": "eq", "value": "2020020001"}])
    assert found == []
    found = rows(api("jjy001"), "students", filters=[{"col": "student_no", "opr": "eq", "value": "2020020001"}])
    assert [r["student_no"] for r in found] == ["2020020001"]


def test_page_size_is_capped_at_100(data, api):
    """page_size above 100 is clamped by max_page_size (so is 0 or a negative size)."""
    client = api("jjy001")
    from app.api.read import StudentApi

    assert StudentApi.max_page_size == 100
    for size in (5000, -1, 0):
        resp = client.get(f"/api/v1/students/?q={prison.dumps({'page_size': size, 'page': 0})}")
        assert resp.status_code == 200
        assert len(resp.get_json()["result"]) == 2


def test_columns_are_explicit_and_labelled_in_chinese(data, api):
    """Lists and records carry Chinese labels and none of the internal columns (hashes, paths, params)."""
    client = api("jjy001")
    for name in ALL_APIS:
        listing = client.get(f"/api/v1/{name}/").get_json()
        assert not FORBIDDEN_KEYS & set(listing["list_columns"])
        assert all(not FORBIDDEN_KEYS & set(row) for row in listing["result"])
        for col, text in listing["label_columns"].items():
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), (name, col, text)
        one = client.get(f"/api/v1/{name}/{listing['ids'][0]}").get_json()
        assert not FORBIDDEN_KEYS & set(one["result"])


def test_selecting_columns_cannot_reach_hidden_ones(data, api):
    """Asking for columns outside the declared ones (rison ``columns``) returns none of them."""
    client = api("jjy001")
    resp = client.get(f"/api/v1/tasks/?q={prison.dumps({'columns': ['params', 'result_path', 'id']})}")
    assert resp.status_code == 200
    assert all(set(row) <= {"id", "kind_label", "summary_text"} for row in resp.get_json()["result"])
    resp = client.get(f"/api/v1/tasks/?q={prison.dumps({'columns': ['requested_by.password']})}")
    assert resp.status_code == 200
    assert all(set(row.get("requested_by") or {}) <= {"username"} for row in resp.get_json()["result"])


def test_rows_carry_chinese_status_labels(data, api):
    """Status codes come with their Chinese names (预毕业, 已达标, 成功 …) from app/statuses.py."""
    client = api("jxd001")
    result = rows(client, "graduation-results")[0]
    assert (result["result"], result["result_label"]) == ("pre_graduate", "预毕业")
    assert result["confirm_state_label"] == "未确认"
    application = rows(client, "degree-applications")[0]
    assert (application["result"], application["result_label"]) == ("met", "已达标")
    assert application["review_opinion_label"] == "未初审"
    student = rows(client, "students")[0]
    assert (student["level_label"], student["site"]["name"]) == ("高起本", "南通教学点")
    task = rows(client, "tasks")[0]
    assert task["kind_label"] == "演示任务" and task["state_label"] == "成功"
    assert task["requested_by"] == {"username": "jxd001"}


def test_bad_rison_is_400_in_chinese(data, api):
    """A malformed query argument answers 400 with a Chinese message."""
    resp = api("jxd001").get("/api/v1/students/?q=(((")
    assert resp.status_code == 400
    assert resp.get_json()["message"].startswith("请求参数无效")


def test_stale_running_task_reads_failed(data, api):
    """A running task whose worker stopped beating is reported 失败 by the API, as by 任务中心."""
    task = db.session.query(Task).filter(Task.scope_text == "范围-jxd001").one()
    old = utcnow() - dt.timedelta(hours=2)
    task.state, task.started_at, task.heartbeat_at = TaskState.RUNNING.value, old, old
    db.session.commit()
    row = api("jxd001").get(f"/api/v1/tasks/{task.id}").get_json()["result"]
    assert (row["state"], row["state_label"], row["error"]) == ("failed", "失败", tasks.STALE_MESSAGE)
    listed = [r for r in rows(api("jxd001"), "tasks") if r["scope_text"] == "范围-jxd001"]
    assert listed[0]["state_label"] == "失败"
