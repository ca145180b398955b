"""Hostile input reported against the app, each case by name: NUL before and after login, JSON nested
100,000 deep, FAB list arguments no query can take, API filter numbers past INTEGER, and HSTS in production.
The sweep over every route is tests/reliability/test_hostile_sweep.py."""
from __future__ import annotations

import re

import pytest

from tests.reliability.test_route_matrix import api_token


def test_deeply_nested_json_is_a_chinese_400(app, world):
    """`[` × 100,000 to the API's login and a workflow endpoint: 400 with a Chinese message, not a RecursionError."""
    body = "[" * 100_000
    raw = app.test_client()
    for url in ("/api/v1/security/login", "/api/v1/graduation/audit"):
        with app.app_context():
            resp = raw.post(url, data=body, content_type="application/json")
        assert resp.status_code == 400, (url, resp.status_code)
        assert resp.get_json()["message"] == "请求数据嵌套层级过深，无法处理"


def test_nul_in_the_login_form_and_api_login(app, world):
    """Before any login: a NUL in the form or in the API's JSON is a Chinese 400 (PostgreSQL: was a 500)."""
    raw = app.test_client()
    with app.app_context():
        form = raw.get("/login/").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        page = raw.post("/login/", data={"username": "jxd\x00001", "password": "x", "csrf_token": token})
        api = raw.post("/api/v1/security/login", json={"username": "jxd\u0000001", "password": "x", "provider": "db"})
    assert page.status_code == 400 and "控制字符" in page.get_data(as_text=True)
    assert api.status_code == 400
    assert api.get_json()["message"] == "输入中包含不允许的控制字符（例如 NUL），请删除后重试"


@pytest.mark.parametrize("url", [
    "/students/list/?_oc_StudentView=zzz&_od_StudentView=asc",
    "/students/list/?_oc_StudentView=name&_od_StudentView=sideways",
    "/students/list/?_flt_0_enrol_grade=99999999999999999999",
    "/students/list/?_flt_0_study_grade=99999999999999999999",
    "/plans/list/?_flt_0_grade=99999999999999999999",
])
def test_fab_list_arguments_no_query_can_take(app, world, ce_client, url):
    """An unknown sort column, a sort direction, a filter number past INTEGER: a Chinese 400 on FAB's lists."""
    resp = ce_client.get(url)
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "排序条件无效" in text or "筛选条件无效" in text


def test_api_filters_with_a_number_past_integer(app, world):
    """The REST API's rison filters: a huge number as a string on a whole-number column is a Chinese 400."""
    raw = app.test_client()
    bearer = api_token(app, "jjy001")
    q = "(filters:!((col:enrol_grade,opr:eq,value:'99999999999999999999')))"
    with app.app_context():
        resp = raw.get("/api/v1/students/", query_string={"q": q}, headers=bearer)
    assert resp.status_code == 400
    assert resp.get_json()["message"] == "请求参数无效：筛选条件 enrol_grade 的取值应为不超过 2147483647 的整数"


def test_hsts_in_production_mode_only(app, world):
    """HSTS only where the README puts the app: production, behind TLS."""
    raw = app.test_client()
    assert "Strict-Transport-Security" not in raw.get("/login/").headers
    app.config["APP_MODE"] = "production"
    try:
        assert raw.get("/login/").headers["Strict-Transport-Security"].startswith("max-age=31536000")
    finally:
        app.config["APP_MODE"] = "test"
