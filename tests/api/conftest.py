"""REST API fixtures: a JWT client per account and a small world with results, applications and tasks."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import DegreeApplication, GraduationAudit, OperationLog, Task
from app.services import signatures, tasks
from tests import factories

LOGIN = "/api/v1/security/login"


class ApiClient:
    """A test client that logged in through the JWT endpoint and sends ``Authorization: Bearer``."""

    def __init__(self, app, username: str, password: str = factories.PASSWORD):
        self.app = app
        self.client = app.test_client()
        resp = self.login(username, password)
        assert resp.status_code == 200, (username, resp.status_code, resp.get_json())
        self.token = resp.get_json()["access_token"]

    def login(self, username: str, password: str):
        with self.app.app_context():
            return self.client.post(LOGIN, json={"username": username, "password": password, "provider": "db"})

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kw):
        with self.app.app_context():
            return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, json=None, **kw):
        with self.app.app_context():
            resp = self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, json=json, **kw)
        db.session.expire_all()
        return resp


@pytest.fixture()
def api(app, world):
    """api('jxd001') -> ApiClient logged in with the factories' password."""
    return lambda username, password=factories.PASSWORD: ApiClient(app, username, password)


acct = factories.account_named


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (160, 50), "white").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture()
def data(world):
    """Both students 预毕业 (open batch), applied for a degree and audited 已达标; one task per site."""
    factories.graduation_batch()
    applied = factories.audited_degree_applications((world.student1, world.student2))
    apps = {s.id: applied[s.student_no] for s in (world.student1, world.student2)}
    for username in ("jxd001", "jxd002"):
        signatures.upload_signature(acct(username), png(), acct(username))
        t = tasks.create_task("demo", actor=acct(username), params={}, scope_text=f"范围-{username}")
        t.state = "succeeded"
    db.session.commit()
    return {
        "world": world,
        "s1": world.student1.id, "s2": world.student2.id,
        "app1": apps[world.student1.id], "app2": apps[world.student2.id],
        "audit1": db.session.scalar(select(GraduationAudit.id).where(GraduationAudit.student_id == world.student1.id)),
        "audit2": db.session.scalar(select(GraduationAudit.id).where(GraduationAudit.student_id == world.student2.id)),
    }


def snapshot() -> dict:
    """Everything a workflow endpoint may change, to compare before and after a refused request."""
    db.session.expire_all()
    audits = [(a.id, a.result, a.override_result, a.confirmed_at, a.computed_task_id)
              for a in db.session.scalars(select(GraduationAudit).order_by(GraduationAudit.id))]
    apps = [(a.id, a.result, a.override_result, a.review_opinion, a.final_at, a.computed_task_id)
            for a in db.session.scalars(select(DegreeApplication).order_by(DegreeApplication.id))]
    return {
        "audits": audits,
        "apps": apps,
        "tasks": db.session.scalar(select(func.count(Task.id))),
        "log": db.session.scalar(select(func.count(OperationLog.id))),
    }


def confirmed(client, url: str, body: dict):
    """A filter-wide workflow request as a careful client makes it: ask, read the 409's count, confirm.

    The one bulk-action rule (app/views/bulk.py, app/api/bulk.py ``unconfirmed``): without
    ``confirm_count`` equal to the server's count of the filter nothing runs.
    """
    resp = client.post(url, json=body)
    if resp.status_code != 409 or "count" not in (resp.get_json() or {}):
        return resp
    return client.post(url, json={**body, "confirm_count": resp.get_json()["count"]})
