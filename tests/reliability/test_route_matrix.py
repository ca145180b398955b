"""The route matrix: every rule of the app's URL map, for every role, aimed at the other organisation.

The rules are enumerated from ``app.url_map`` at test time, so a route added later is tested too. Each
rule is requested with the other organisation's ids (site2 / college2, student 李四 2020020001) put
into its path parameters and its form fields. A rule whose parameters the test cannot fill makes the
test fail until it is added to ``PK_TARGETS`` — and a rule skipped must be in ``ALLOWED`` with a reason.
"""
from __future__ import annotations

import json

import pytest

from tests.reliability.conftest import OTHER_NAME, OTHER_NO, AnonClient, changed_tables, check_headers, fingerprint

# endpoint -> why the matrix does not request it (each has its own test elsewhere)
ALLOWED = {
    "static": "public static files of the app (css/js), no data",
    "appbuilder.static": "FAB's public static files, no data",
    "LoginView.login": "the login form: tests/reliability/test_login.py",
    "LoginView.logout": "logout: changes only the caller's own session",
    "LocaleView.index": "language switch: stores the locale in the caller's session only",
    "UtilView.back": "redirects to the caller's own history stored in the session",
    "SwaggerView.show": "API documentation page, no data (JWT needed for every call it describes)",
    "OpenApi.get": "the OpenAPI document, no data",
    "SecurityApi.login": "JWT login: tests/reliability/test_csrf_sweep.py and test_login.py",
    "SecurityApi.refresh": "JWT refresh: needs a refresh token; test_csrf_sweep.py checks cookies do not work",
    "healthz": "public health check: database/Redis up or down, no data (tests/test_production_bootstrap.py)",
}

# view (endpoint prefix) -> attribute of Hostile used for its <pk>/<int:...> parameters
PK_TARGETS = {
    "StudentView": "student",
    "GradeView": "grade",
    "LanguageScoreView": "language",
    "GraduateFormView": "form",
    "GraduationAuditView": "student",
    "DegreeAuditView": "application",
    "DegreeGrantView": "application",
    "DegreeUnappliedView": "student",
    "SignatureView": "signature",
    "TaskView": "task",
    "OperationLogView": "oplog",
    "AccountView": "account",
    "UserDBModelView": "account",
    "OrganisationView": "site",
    "MajorView": "major",
    "TeachingPlanView": "plan",
    "PlanCourseView": "plan_course",
    "GraduationBatchView": "graduation_batch",
    "DegreeBatchView": "degree_batch",
    "StudentApi": "student",
    "GraduationResultApi": "audit",
    "DegreeApplicationApi": "application",
    "TaskApi": "task",
    "CourseExceptionView": "exception",
    "CourseExceptionApi": "exception",
    # FAB's own security admin views (CE admin only); any id will do
    "RoleModelView": None,
    "PermissionModelView": None,
    "ViewMenuModelView": None,
    "PermissionViewModelView": None,
    "UserGroupModelView": None,
}

# which hostile id a view expects in posted ``ids``
IDS_TARGETS = {
    "GraduationAuditView": "student",
    "GraduateArchiveView": "student",
    "DegreeAuditView": "application",
    "DegreeGrantView": "application",
    "ExportView": "application",
}

# Binary endpoints whose path carries the target id: a 200 would hand over the other org's file.
ROLES = {
    "site_admin": "jxd001",
    "college_admin": "xy001",
    "student": "2020010001",
    "anonymous": None,
}


def _rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ALLOWED:
            continue
        yield rule


def _value(rule, arg: str, hostile) -> str:
    view = rule.endpoint.split(".")[0]
    if arg == "name":
        return "review_form"
    if arg == "filename":
        return "x.txt"
    if arg == "version":
        return "v1"
    if arg == "group_by":
        return "username"
    if arg == "locale":
        return "zh"
    if arg == "kind":
        return "students"  # an import kind, not an id
    assert view in PK_TARGETS, f"{rule.rule}: add {view} to PK_TARGETS (or ALLOWED with a reason)"
    attr = PK_TARGETS[view]
    return str(getattr(hostile, attr) if attr else 1)


def build_url(rule, hostile) -> str:
    values = {arg: _value(rule, arg, hostile) for arg in rule.arguments}
    url = rule.rule
    for arg, value in values.items():
        import re

        url = re.sub(r"<(?:[^:<>]+:)?" + arg + r">", value, url)
    return url


def hostile_form(rule, hostile) -> dict:
    """Form fields aimed at the other organisation: its ids in every id-list field FAB and we use."""
    view = rule.endpoint.split(".")[0]
    ids = str(getattr(hostile, IDS_TARGETS.get(view, "student")))
    rowid = str(getattr(hostile, PK_TARGETS.get(view) or "form")) if view in PK_TARGETS else str(hostile.form)
    return {
        "ids": [ids], "rowid": [rowid], "action": "review_form", "back": "list",
        "result": "graduate", "reason": "篡改", "override_result": "qualified", "override_reason": "篡改",
        "review_opinion": "agree", "review_comment": "篡改", "stage": "any", "list": "graduates",
        "documents": ["form"],
    }


# JSON bodies of the API's write endpoints, aimed at the other organisation (unknown keys are refused)
def api_body(rule, hostile) -> dict:
    endpoint = rule.endpoint
    if endpoint.startswith("DegreeWorkflowApi."):
        body = {"ids": [hostile.application]}
        if endpoint.endswith(".review"):
            body.update(opinion="agree", comment="篡改")
        return body
    body = {"ids": [hostile.student]}
    if endpoint.endswith(".override"):
        body.update(result="pre_graduate", reason="篡改")
    return body


def api_token(app, username: str | None) -> dict:
    """Bearer header of a JWT obtained through the API's own login (anonymous: no header)."""
    if username is None:
        return {}
    from tests import factories

    with app.app_context():
        resp = app.test_client().post("/api/v1/security/login", json={
            "username": username, "password": factories.PASSWORD, "provider": "db"})
    assert resp.status_code == 200, (username, resp.status_code, resp.data[:200])
    return {"Authorization": f"Bearer {resp.json['access_token']}"}


class ApiCaller:
    """Sends /api/ requests with the role's JWT (the API takes no cookies), others through the client."""

    def __init__(self, client, app, headers: dict):
        self.client, self.app, self.headers = client, app, headers
        self.raw = app.test_client()

    def get(self, url):
        if url.startswith("/api/"):
            with self.app.app_context():
                return self.raw.get(url, headers=self.headers)
        return self.client.get(url)

    def post(self, url, data=None, rule=None, hostile=None):
        if url.startswith("/api/"):
            from app.extensions import db

            with self.app.app_context():
                resp = self.raw.post(url, json=api_body(rule, hostile), headers=self.headers)
            db.session.expire_all()
            return resp
        return self.client.post(url, data=data)


def leaks(body: bytes) -> bool:
    text = body.decode("utf-8", "ignore")
    return any(s in text for s in (OTHER_NO, OTHER_NAME, json.dumps(OTHER_NAME)[1:-1]))


def request_matrix(client, app, hostile, *, check_scope: bool) -> dict:
    """Request every rule once; return figures. Asserts the rules of the module docstring as it goes."""
    problems: list[str] = []
    figures = {"get": 0, "post": 0, "status": {}}
    before_gets = fingerprint()
    posts = []
    for rule in _rules(app):
        url = build_url(rule, hostile)
        methods = rule.methods - {"HEAD", "OPTIONS"}
        if "GET" in methods:
            resp = client.get(url)
            figures["get"] += 1
            figures["status"][resp.status_code] = figures["status"].get(resp.status_code, 0) + 1
            if resp.status_code >= 500:
                problems.append(f"GET {url} -> {resp.status_code}")
            problems += check_headers(resp, f"GET {url}")
            if check_scope and resp.status_code == 200:
                if leaks(resp.data):
                    problems.append(f"GET {url} shows the other organisation's student")
                if rule.arguments and resp.mimetype not in ("text/html", "application/json"):
                    problems.append(f"GET {url} hands over a {resp.mimetype} file of the other organisation")
        elif methods & {"POST", "PUT", "DELETE", "PATCH"}:
            posts.append((rule, url))
    after_gets = fingerprint()
    if changed_tables(before_gets, after_gets):
        problems.append(f"GET requests changed {changed_tables(before_gets, after_gets)}")
    before = after_gets
    for rule, url in posts:
        resp = client.post(url, data=hostile_form(rule, hostile), rule=rule, hostile=hostile)
        figures["post"] += 1
        figures["status"][resp.status_code] = figures["status"].get(resp.status_code, 0) + 1
        if resp.status_code >= 500:
            problems.append(f"POST {url} -> {resp.status_code}")
        if check_scope:
            if resp.status_code == 200 and leaks(resp.data):
                problems.append(f"POST {url} shows the other organisation's student")
            after = fingerprint()
            diff = changed_tables(before, after)
            before = after
            if diff:
                problems.append(f"POST {url} -> {resp.status_code} changed {diff}")
    assert not problems, "\n".join(problems)
    return figures


@pytest.mark.parametrize("role", list(ROLES))
def test_every_route_refuses_the_other_organisation(role, app, login, hostile):
    """Every route, for site/college admin, student and anonymous: no 500, no foreign data, no change."""
    username = ROLES[role]
    client = ApiCaller(login(username) if username else AnonClient(app), app, api_token(app, username))
    figures = request_matrix(client, app, hostile, check_scope=True)
    assert figures["get"] > 50 and figures["post"] > 10


def test_every_route_answers_the_ce_admin_without_error(app, ce_client, hostile):
    """The CE admin (scope: all) gets no 500 anywhere, with ids of any organisation."""
    problems = []
    client = ApiCaller(ce_client, app, api_token(app, "jjy001"))
    for rule in _rules(app):
        url = build_url(rule, hostile)
        methods = rule.methods - {"HEAD", "OPTIONS"}
        resp = client.get(url) if "GET" in methods else \
            client.post(url, data=hostile_form(rule, hostile), rule=rule, hostile=hostile)
        if resp.status_code >= 500:
            problems.append(f"{url} -> {resp.status_code}")
    assert not problems, "\n".join(problems)


def test_worksheet_routes_are_in_the_matrix(app):
    """毕业进度's routes (the student's own, an admin's 审核预览 of a student) are requested by the matrix."""
    endpoints = {r.endpoint for r in _rules(app)}
    assert {"StudentSpaceView.progress", "GraduationAuditView.progress"} <= endpoints


def test_allow_list_is_explicit_and_current(app):
    """Every allow-listed endpoint still exists (a stale entry would hide nothing but mislead)."""
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert set(ALLOWED) <= endpoints, set(ALLOWED) - endpoints
    assert all(reason.strip() for reason in ALLOWED.values())


def test_a_new_unscoped_route_fails_the_matrix(app, login, hostile):
    """Meta-test: an unscoped route showing any student by id is caught by the matrix."""
    from flask import Flask

    from app.extensions import db
    from app.models import Student

    probe = Flask(__name__)
    probe.url_map = app.url_map.__class__()

    @probe.route("/students/leak/<int:pk>")
    def leak(pk):  # the kind of route a hurried change adds
        s = db.session.get(Student, pk)
        return f"{s.student_no} {s.name}"

    rule = next(probe.url_map.iter_rules("leak"))
    url = build_url(type("R", (), {"endpoint": "StudentView.leak", "arguments": rule.arguments, "rule": rule.rule})(),
                    hostile)
    with app.test_request_context():
        body = leak(int(url.rsplit("/", 1)[1])).encode()
    assert leaks(body)


def test_malformed_list_arguments_are_not_500(app, ce_client):
    """Garbage in FAB's page/size/order/filter arguments of every list page gives 4xx or a page, never 500."""
    lists = sorted({r.rule for r in app.url_map.iter_rules() if r.rule.endswith("/list/")})
    bad = ["page_{v}=x", "psize_{v}=abc", "psize_{v}=-1", "page_{v}=-3", "_oc_{v}=nosuchcol&_od_{v}=up",
           "_flt_0_nosuch=1", "_flt_99_name=x", "page=abc"]
    problems = []
    for url in lists:
        view = next(r.endpoint.split(".")[0] for r in app.url_map.iter_rules() if r.rule == url)
        for q in bad:
            resp = ce_client.get(f"{url}?{q.format(v=view)}")
            if resp.status_code >= 500:
                problems.append(f"{url}?{q.format(v=view)} -> {resp.status_code}")
    assert not problems, "\n".join(problems)


HUGE = "99999999999999999999"  # past every database INTEGER (and past PostgreSQL's bigint)
HUGE_QUERY = "&".join(f"{k}={HUGE}" for k in (
    "page", "site_id", "major_id", "batch_id", "grade", "enrol_grade", "study_grade", "ids", "id", "student_id"))


@pytest.mark.parametrize("role", ["jjy001", "jxd001"])
def test_huge_numbers_anywhere_are_not_500(app, login, role):
    """Numbers no INTEGER column can hold, in every path parameter and in the common query arguments of
    every GET route (and FAB's page_/psize_ arguments, and digits like "²"): 4xx or a page, never a 500
    (both an OverflowError on SQLite and "out of range" on PostgreSQL were 500s)."""
    import re

    client = login(role)
    problems = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ALLOWED:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(r"<(?:[^:<>]+:)?" + arg + r">", HUGE, url)
        view = rule.endpoint.split(".")[0]
        for query in (HUGE_QUERY, f"page_{view}={HUGE}&psize_{view}={HUGE}", "page=²&site_id=²&ids=²"):
            resp = client.get(f"{url}?{query}")
            if resp.status_code >= 500:
                problems.append(f"{url}?{query[:60]} -> {resp.status_code}")
    assert not problems, "\n".join(problems)
    assert client.get(f"/graduation/audit/student/{HUGE}").status_code == 404
