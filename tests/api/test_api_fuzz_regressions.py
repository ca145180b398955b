"""What schemathesis (tests/api/test_fuzz.py) and the probes that followed it found: each was a 500, now a 4xx.

- Integers beyond the INTEGER columns in a JSON body or a path (SQLite cannot bind past 64 bits; PostgreSQL
  refuses past 32): 400 or 404 before any query.
- ``q`` with a ``page`` below 0 or past any row, or an integer beyond 64 bits anywhere: 400.
- A filter value of the wrong type (a number on a text column, a scalar for ``in``, a list, a boolean): FAB
  passed it to SQL as given, a database error on PostgreSQL; now 400 naming the column.
Also the document now says what the API does: UTC timestamps with their offset, integer ids, 403 everywhere.
"""
from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest

from tests.api.conftest import snapshot

HUGE = 2**70  # past 64 bits
BIG = 2**31  # past PostgreSQL's INTEGER
RANGE = "不超过 2147483647"

BODIES = [
    ("jxd001", "/api/v1/graduation/override", {"ids": [1, HUGE], "result": "failed", "reason": "核实"}),
    ("jxd001", "/api/v1/graduation/audit", {"ids": [BIG]}),
    ("jxd001", "/api/v1/graduation/audit", {"filters": {"enrol_grade": HUGE}}),
    ("jjy001", "/api/v1/graduation/confirm", {"filters": {"site_id": BIG}}),
    ("jxd001", "/api/v1/degree/review", {"ids": [HUGE], "opinion": "agree"}),
    ("jjy001", "/api/v1/degree/final", {"ids": [BIG]}),
    ("jjy001", "/api/v1/degree/audit", {"filters": {"batch_id": HUGE}}),
]


@pytest.mark.parametrize("username, url, body", BODIES)
def test_ids_and_numbers_past_the_columns_are_400(data, api, username, url, body):
    """A number no column can hold is refused by the body's schema, in Chinese, and nothing is written."""
    before = snapshot()
    resp = api(username).post(url, json=body)
    assert resp.status_code == 400, resp.get_json()
    assert RANGE in resp.get_json()["message"]
    assert snapshot() == before


@pytest.mark.parametrize("resource", ["students", "graduation-results", "degree-applications", "tasks"])
def test_pk_past_the_columns_is_404(data, api, resource):
    """A pk no INTEGER column can hold answers a JSON 404, not a database error (the app's ``int`` URL
    converter stops at 2,147,483,647, so such a path matches no route at all)."""
    client = api("jjy001")
    for pk in (HUGE, BIG, 2**63):
        resp = client.get(f"/api/v1/{resource}/{pk}")
        assert resp.status_code == 404, (pk, resp.get_json())
        assert resp.get_json()["message"] in ("记录不存在或不在您的管理范围内", "页面不存在")


def q(rison: str) -> str:
    return urllib.parse.quote(rison)


BAD_QUERIES = [
    ("students", "(page:-1,page_size:10)", "page 应为 0 到 2147483647 之间的整数"),
    ("students", "(page:9223372036854775807,page_size:10)", "page 应为 0 到 2147483647 之间的整数"),
    ("tasks", "(page:99999999999999999999999)", "q 中的数值超出范围"),
    ("graduation-results", "(filters:!((col:student_id,opr:eq,value:99999999999999999999999)))", "q 中的数值超出范围"),
    ("students", "(filters:!((col:student_no,opr:eq,value:2020020001)))", "筛选条件 student_no 的取值应为字符串"),
    ("students", "(filters:!((col:level,opr:ct,value:1)))", "筛选条件 level 的取值应为字符串"),
    ("students", "(filters:!((col:name,opr:sw,value:!(a,b))))", "筛选条件 name 的取值应为字符串"),
    ("students", "(filters:!((col:enrol_grade,opr:in,value:2020)))", "筛选条件 enrol_grade 的取值应为整数数组"),
    ("students", "(filters:!((col:enrol_grade,opr:eq,value:!t)))", "筛选条件 enrol_grade 的取值应为整数"),
    ("graduation-results", "(filters:!((col:diploma_no,opr:eq,value:103041202505000001)))",
     "diploma_no 的取值应为字符串"),
    ("degree-applications", "(filters:!((col:result,opr:in,value:!(1,2))))", "筛选条件 result 的取值应为字符串数组"),
    ("tasks", "(filters:!((col:state,opr:eq,value:1.5)))", "筛选条件 state 的取值应为字符串"),
]


@pytest.mark.parametrize("resource, rison, message", BAD_QUERIES)
def test_bad_query_values_are_400(data, api, resource, rison, message):
    """Values FAB would have handed to SQL as given (a 500 on PostgreSQL) are refused with a Chinese 400."""
    resp = api("jjy001").get(f"/api/v1/{resource}/?q={q(rison)}")
    assert resp.status_code == 400, resp.get_json()
    assert message in resp.get_json()["message"]


def test_well_typed_filters_still_work(data, api):
    """The type check refuses only what SQL cannot take: strings on text columns, ints (or digits) on int ones."""
    client = api("jjy001")

    def count(resource, rison):
        resp = client.get(f"/api/v1/{resource}/?q={q(rison)}")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["count"]

    assert count("students", "(filters:!((col:student_no,opr:eq,value:'2020020001')))") == 1
    assert count("students", "(filters:!((col:enrol_grade,opr:in,value:!(2020,2021))))") == 2
    assert count("students", "(filters:!((col:enrol_grade,opr:eq,value:'2020')))") == 2
    assert count("students", "(filters:!((col:level,opr:in,value:!(gqb,zsb))))") == 2
    assert count("students", "(page:0,page_size:1)") == 2


def test_timestamps_are_utc_with_offset(data, api):
    """Stored naive UTC, written with +00:00: a client can tell UTC from 北京时间, as RFC 3339 date-time requires."""
    task = api("jjy001").get("/api/v1/tasks/?q=(order_column:id,order_direction:asc)").get_json()["result"][0]
    created = dt.datetime.fromisoformat(task["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=5)
    result = api("jjy001").get(f"/api/v1/graduation-results/{data['audit1']}").get_json()["result"]
    assert result["computed_at"] == "2024-11-01T00:00:00+00:00"
    assert result["graduation_date"] is None or "T" not in result["graduation_date"]  # dates stay dates


def test_openapi_documents_what_the_reads_answer(world, api):
    """Integer ids, 403 on every JWT endpoint, the derived label columns, and page's bounds."""
    doc = api("jjy001").get("/api/v1/_openapi").get_json()
    listing = doc["paths"]["/api/v1/tasks/"]["get"]
    body = listing["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert body["ids"]["items"] == {"type": "integer"}
    show = doc["paths"]["/api/v1/tasks/{pk}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert show["schema"]["properties"]["id"]["type"] == "integer"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op.get("security") == [{"jwt": []}]:
                assert "403" in op["responses"], (method, path)
    schemas = doc["components"]["schemas"]
    assert schemas["TaskApi.get_list"]["properties"]["kind_label"]["readOnly"] is True
    assert {"confirm_state", "confirm_state_label"} <= set(schemas["GraduationResultApi.get"]["properties"])
    assert "review_opinion_label" in schemas["DegreeApplicationApi.get_list"]["properties"]
    assert schemas["TaskApi.get"]["properties"]["created_at"]["format"] == "date-time"
    assert schemas["get_list_schema"]["properties"]["page"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
