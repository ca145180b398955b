"""REST API workflow endpoints: the pages' services, the pages' permissions, scope, and bad input."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import DegreeApplication, GraduationAudit, GraduationBatch, OperationLog, Task
from tests.api.conftest import confirmed, snapshot

GRAD = "/api/v1/graduation"
DEG = "/api/v1/degree"


def audit_row(student_id: int) -> GraduationAudit:
    db.session.expire_all()
    return db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == student_id))


def application(app_id: int) -> DegreeApplication:
    db.session.expire_all()
    return db.session.get(DegreeApplication, app_id)


# --------------------------------------------------------------------------- 毕业审核


def test_graduation_audit_by_ids_returns_task_and_runs(data, api):
    """POST graduation/audit with own ids creates a 毕业审核 task (run inline) visible in /api/v1/tasks."""
    client = api("jxd001")
    resp = client.post(f"{GRAD}/audit", json={"ids": [data["s1"]]})
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["message"] == "任务已提交，可在任务中心查看进度"
    task = client.get(f"/api/v1/tasks/{body['task_id']}").get_json()["result"]
    assert (task["kind"], task["state_label"], task["kind_label"]) == ("graduation_audit", "成功", "毕业审核任务")
    assert audit_row(data["s1"]).computed_task_id == body["task_id"]


def test_graduation_audit_by_filter_stays_in_scope(data, api):
    """An empty filter means "everything in my scope": site 1's audit never touches student2."""
    before = audit_row(data["s2"]).computed_task_id
    resp = confirmed(api("jxd001"), f"{GRAD}/audit", {"filters": {}})
    assert resp.status_code == 202
    assert audit_row(data["s1"]).computed_task_id == resp.get_json()["task_id"]
    assert audit_row(data["s2"]).computed_task_id == before
    assert db.session.get(Task, resp.get_json()["task_id"]).params["scope"] == {
        "kind": "site", "org_id": data["world"].site1.id, "student_id": None}


@pytest.mark.parametrize("username,url", [("jxd001", f"{GRAD}/audit"), ("jxd001", f"{GRAD}/confirm"),
                                          ("jxd001", f"{DEG}/audit"), ("jxd001", f"{DEG}/review"),
                                          ("xy001", f"{DEG}/final")])
def test_filter_wide_request_needs_the_confirmed_count(data, api, username, url):
    """Nothing ticked: 409 with the server's count and the confirmation sentence, nothing changes; a wrong
    count is refused the same way; ids need no confirmation (the pages' rule, app/views/bulk.py)."""
    before = snapshot()
    client = api(username)
    body = {"filters": {}, "opinion": "agree"} if url.endswith("/review") else {"filters": {}}
    resp = client.post(url, json=body)
    assert resp.status_code == 409, resp.get_json()
    count = resp.get_json()["count"]
    noun = "条学位申请" if url.startswith(DEG) else "名学生"
    assert count == 1 and resp.get_json()["message"].startswith(f"将对当前筛选的 1 {noun}")
    assert client.post(url, json={**body, "confirm_count": count + 1}).status_code == 409
    assert snapshot() == before
    resp = client.post(url, json={**body, "confirm_count": count})
    assert resp.status_code != 409, resp.get_json()  # confirmed: now the service decides (e.g. 终审 needs 初审)


def test_graduation_audit_of_empty_filter_is_400(data, api):
    """A filter that matches nobody creates no task and says so in Chinese."""
    before = snapshot()
    resp = api("jxd001").post(f"{GRAD}/audit", json={"filters": {"q": "不存在的人"}})
    assert resp.status_code == 400
    assert resp.get_json()["message"] == "当前筛选条件下没有学生，未创建任务"
    assert snapshot() == before


@pytest.mark.parametrize("username,other", [("jxd001", "s2"), ("xy001", "s2"), ("jxd002", "s1"), ("xy002", "s1")])
def test_graduation_actions_with_other_orgs_ids_are_404(data, api, username, other):
    """Another organisation's student id (alone or with an own one) answers 404 and changes nothing."""
    own = "s1" if other == "s2" else "s2"
    before = snapshot()
    client = api(username)
    for endpoint, extra in (("audit", {}), ("confirm", {}), ("override", {"result": "failed", "reason": "核实"})):
        for ids in ([data[other]], [data[own], data[other]]):
            resp = client.post(f"{GRAD}/{endpoint}", json={"ids": ids, **extra})
            assert resp.status_code == 404, (endpoint, resp.get_json())
            assert resp.get_json()["message"] == "所选学生不存在或不在您的管理范围内"
    assert snapshot() == before


def test_confirm_own_students_inside_window(data, api):
    """一键确认毕业 of the site's 预毕业 students marks them 已确认; the other site's stay as they were."""
    resp = confirmed(api("jxd001"), f"{GRAD}/confirm", {"filters": {}})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["count"] == 1
    assert audit_row(data["s1"]).confirmed_at is not None
    assert audit_row(data["s2"]).confirmed_at is None
    listed = api("jxd001").get(f"/api/v1/graduation-results/{data['audit1']}").get_json()["result"]
    assert listed["confirm_state_label"] == "已确认"


def test_confirm_outside_window_changes_nothing(data, api):
    """Outside the batch's confirmation window the answer is 400 with the window, and nothing changes."""
    batch = db.session.scalar(select(GraduationBatch))
    batch.confirm_start, batch.confirm_end = dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6)
    db.session.commit()
    before = snapshot()
    resp = api("jxd001").post(f"{GRAD}/confirm", json={"ids": [data["s1"]]})
    assert resp.status_code == 400
    assert resp.get_json()["message"] == ("2020级 高起本 批次不在确认毕业时间内（2024-11-25 00:00:00 至 "
                                          "2024-12-06 00:00:00），未确认 1 名")
    assert snapshot() == before


def test_confirm_names_the_closed_batch_and_confirms_the_open_one(data, api):
    """A selection spanning an open and a closed batch: 200, the open one confirmed, the closed one in ``refused``."""
    from tests import factories

    world = data["world"]
    closed = factories.graduation_batch(open_now=False, name="2021级高起本毕业批次", grade=2021)
    late = factories.student(world.site1, world.major1, no="2021010001", name="孙一", grade=2021)
    db.session.add(GraduationAudit(student_id=late.id, batch_id=closed.id, result="pre_graduate",
                                   computed_result="pre_graduate"))
    db.session.commit()
    late_id = late.id
    resp = api("jxd001").post(f"{GRAD}/confirm", json={"ids": [data["s1"], late_id]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["count"] == 1
    assert body["refused"] == [{"batch": "2021级 高起本 批次", "window": "2024-11-25 00:00:00 至 2024-12-06 00:00:00",
                                "count": 1, "message": "2021级 高起本 批次不在确认毕业时间内（2024-11-25 00:00:00 至 "
                                                       "2024-12-06 00:00:00），未确认 1 名"}]
    assert body["message"] == "已确认毕业 1 名学生，名单已提交继教院；" + body["refused"][0]["message"]
    assert audit_row(data["s1"]).confirmed_at is not None and audit_row(late_id).confirmed_at is None


def test_api_messages_follow_the_language_argument(data, api):
    """With ``?_l_=en`` the API answers in English, the same words as the page: the confirm refusal naming the
    batch and the override count (Chinese stays the default, see the tests above)."""
    batch = db.session.scalar(select(GraduationBatch))
    batch.confirm_start, batch.confirm_end = dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6)
    db.session.commit()
    resp = api("jxd001").post(f"{GRAD}/confirm?_l_=en", json={"ids": [data["s1"]]})
    assert resp.status_code == 400
    assert resp.get_json()["message"] == ("2020 intake High school to bachelor's batch is outside its graduation "
                                          "confirmation period (2024-11-25 00:00:00 to 2024-12-06 00:00:00); "
                                          "1 student(s) not confirmed")
    resp = api("jxd001").post(f"{GRAD}/override?_l_=en",
                              json={"ids": [data["s1"]], "result": "failed", "reason": "照片不合格"})
    assert resp.get_json() == {"count": 1, "message": "Graduation audit result changed for 1 student(s)"}


def test_override_sets_result_and_logs(data, api):
    """修改毕业审核结果 through the API marks the row hand-set and writes the operation log."""
    resp = api("jxd001").post(f"{GRAD}/override",
                              json={"ids": [data["s1"]], "result": "failed", "reason": "照片不合格"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"count": 1, "message": "已修改 1 名学生的毕业审核结果"}
    row = audit_row(data["s1"])
    assert (row.result, row.override_result, row.override_reason) == ("failed", "failed", "照片不合格")
    log = db.session.scalar(select(OperationLog).where(OperationLog.action == "graduation_override"))
    assert (log.actor_name, log.old_value, log.new_value, log.reason) == ("jxd001", "预毕业", "不合格", "照片不合格")


OVERRIDE_BAD = [
    ({"ids": [1], "result": "failed", "reason": "  "}, "请填写核实说明"),
    ({"ids": [1], "result": "failed"}, "请提供核实说明"),
    ({"ids": [1], "result": "unaudited", "reason": "x"}, "毕业审核结果取值无效"),
    ({"ids": [], "result": "failed", "reason": "x"}, "请勾选至少 1 个"),
    ({"result": "failed", "reason": "x"}, "请提供 ids"),
    ({"ids": [1], "result": "failed", "reason": "长" * 501}, "核实说明不能超过 500 字"),
]


def test_override_bad_input_is_400_and_changes_nothing(data, api):
    """Missing reason, a result that cannot be set by hand or no selection: 400 in Chinese, no change."""
    before = snapshot()
    client = api("jxd001")
    for body, message in OVERRIDE_BAD:
        resp = client.post(f"{GRAD}/override", json=body)
        assert resp.status_code == 400, body
        assert message in resp.get_json()["message"], resp.get_json()
    assert snapshot() == before


# --------------------------------------------------------------------------- bad JSON


BAD_BODIES = [
    ("{not json", "application/json", "请求内容不是有效的 JSON"),
    ('{"ids": [1]}', "text/plain", "请求内容应为 JSON（Content-Type: application/json）"),
    ("[1, 2]", "application/json", "请求内容应为 JSON 对象"),
    ('{"ids": ["1"]}', "application/json", "应为整数"),
    ('{"ids": [0]}', "application/json", "应为正整数"),
    ('{"ids": 5}', "application/json", "ids 应为编号数组"),
    ('{"filters": {"levl": "gqb"}}', "application/json", "不是可接受的参数：filters.levl"),
    ('{"filters": {"level": "博士"}}', "application/json", "层次取值无效"),
    ('{"filters": []}', "application/json", "应为 JSON 对象"),
    ('{"filters": null}', "application/json", "filters 不能为 null"),
    ('{"ids": [1], "force": true}', "application/json", "不是可接受的参数：force"),
    ("{}", "application/json", "请提供 ids（勾选的编号）或 filters"),
]


@pytest.mark.parametrize("url", [f"{GRAD}/audit", f"{GRAD}/confirm", f"{DEG}/audit", f"{DEG}/final"])
def test_bad_json_is_400_in_chinese(data, api, url):
    """Malformed bodies, wrong types, unknown keys (a typo must not widen a filter): 400, nothing done."""
    before = snapshot()
    client = api("jjy001")
    for payload, content_type, message in BAD_BODIES:
        resp = client.post(url, data=payload, headers={"Content-Type": content_type})
        assert resp.status_code == 400, payload
        assert message in resp.get_json()["message"], (payload, resp.get_json())
    assert snapshot() == before


def test_degree_bad_json_is_400_in_chinese(data, api):
    """The degree endpoints validate their bodies the same way (初审意见 must be 同意/不同意)."""
    client = api("jxd001")
    resp = client.post(f"{DEG}/review", json={"ids": [data["app1"]], "opinion": "maybe"})
    assert resp.status_code == 400
    assert "初审意见取值无效，可选：agree（同意）、disagree（不同意）" in resp.get_json()["message"]
    resp = client.post(f"{DEG}/audit", json={"filters": {"applied": "yes"}})
    assert resp.status_code == 400 and "学生申请状态取值无效" in resp.get_json()["message"]


# --------------------------------------------------------------------------- roles


WRITES = [f"{GRAD}/audit", f"{GRAD}/confirm", f"{GRAD}/override", f"{DEG}/audit", f"{DEG}/review", f"{DEG}/final"]


def test_student_gets_403_on_every_write(data, api):
    """A student's token is refused on every workflow endpoint and nothing changes."""
    before = snapshot()
    client = api("2020010001")
    for url in WRITES:
        resp = client.post(url, json={"ids": [data["s1"]], "result": "failed", "reason": "x", "opinion": "agree"})
        assert resp.status_code == 403, url
        assert resp.get_json()["message"] == "没有权限进行此操作"
    assert snapshot() == before


@pytest.mark.parametrize("username,url", [("jxd001", f"{DEG}/final"), ("xy001", f"{DEG}/review")])
def test_wrong_admin_role_gets_403(data, api, username, url):
    """初审 is for teaching sites, 终审 for colleges: the other one is refused by FAB's permission check."""
    before = snapshot()
    resp = api(username).post(url, json={"ids": [data["app1"]], "opinion": "agree"})
    assert resp.status_code == 403
    assert snapshot() == before


def test_ce_admin_review_is_refused_by_the_service(data, api):
    """The CE admin holds every permission, but the 初审 service itself says 仅教学点管理员可以初审 (403)."""
    before = snapshot()
    resp = api("jjy001").post(f"{DEG}/review", json={"ids": [data["app1"]], "opinion": "agree"})
    assert resp.status_code == 403
    assert resp.get_json()["message"] == "仅教学点管理员可以初审"
    assert snapshot() == before


def test_read_apis_have_no_generic_writes(data, api):
    """No PUT/DELETE/POST on the model APIs: nothing can be edited or moved to another organisation."""
    client = api("jjy001")
    before = snapshot()
    for name, key in (("students", "s1"), ("graduation-results", "audit1"), ("degree-applications", "app1")):
        for method, url in (("put", f"/api/v1/{name}/{data[key]}"), ("delete", f"/api/v1/{name}/{data[key]}"),
                            ("post", f"/api/v1/{name}/")):
            with client.app.app_context():
                resp = getattr(client.client, method)(url, headers=client.headers, json={"site_id": 999})
            assert resp.status_code == 405, (method, url)
            assert resp.get_json()["message"] == "不支持的请求方式"
    assert snapshot() == before


# --------------------------------------------------------------------------- 学位


def test_degree_audit_by_site_covers_own_applications(data, api):
    """学位条件审核 through the API creates a task over the site's applications only."""
    before = application(data["app2"]).computed_task_id
    resp = confirmed(api("jxd001"), f"{DEG}/audit", {"filters": {}})
    assert resp.status_code == 202, resp.get_json()
    task_id = resp.get_json()["task_id"]
    assert application(data["app1"]).computed_task_id == task_id
    assert application(data["app2"]).computed_task_id == before
    assert db.session.get(Task, task_id).summary == {"已达标": 1, "未达标": 0}


DEGREE_ACTIONS = {
    "jxd001": [(f"{DEG}/audit", {}), (f"{DEG}/review", {"opinion": "agree", "comment": "同意"})],
    "xy001": [(f"{DEG}/audit", {}), (f"{DEG}/final", {})],
}


@pytest.mark.parametrize("username", list(DEGREE_ACTIONS))
def test_degree_actions_with_other_orgs_ids_are_404(data, api, username):
    """Another organisation's application id, alone or with an own one, answers 404 and changes nothing."""
    before = snapshot()
    client = api(username)
    for url, body in DEGREE_ACTIONS[username]:
        for ids in ([data["app2"]], [data["app1"], data["app2"]]):
            resp = client.post(url, json={"ids": ids, **body})
            assert resp.status_code == 404, (url, resp.get_json())
            assert resp.get_json()["message"] == "所选学位申请不存在或不在您的管理范围内"
    assert snapshot() == before


def test_review_then_final_through_the_api(data, api):
    """初审 by the site (signed) and 批量终审 by the college move student1's application to the CE college."""
    resp = api("jxd001").post(f"{DEG}/review", json={"ids": [data["app1"]], "opinion": "agree", "comment": "材料齐全"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["message"] == "初审完成：1 名学生的初审意见已签名保存"
    row = application(data["app1"])
    assert (row.review_opinion, row.review_comment) == ("agree", "材料齐全") and row.review_signature_id
    resp = confirmed(api("xy001"), f"{DEG}/final", {"filters": {}})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["count"] == 1 and resp.get_json()["skipped"] == 0
    assert application(data["app1"]).final_at is not None
    assert application(data["app2"]).final_at is None


def test_final_of_unreviewed_ticked_row_is_refused(data, api):
    """Ticked rows that are not 已达标 with 初审 同意 refuse the whole 终审 (400, in Chinese)."""
    before = snapshot()
    resp = api("xy001").post(f"{DEG}/final", json={"ids": [data["app1"]]})
    assert resp.status_code == 400
    assert resp.get_json()["message"].startswith("只能终审学位申请条件已达标且初审同意的学生")
    assert snapshot() == before
