"""Fixtures for the reliability and security tests: the other organisation's rows, DB fingerprints, clients.

``hostile`` gives every kind of row that belongs to site2 / college2 (student 李四, 2020020001): the ids a
user of site1 / college1 / student 2020010001 must never reach.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from tests import factories
from tests.clients import Client

OTHER_NO = "2020020001"
OTHER_NAME = "李四"


def jpeg_bytes(size=(60, 80), color=(200, 30, 30), **save_kw) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", **save_kw)
    return buf.getvalue()


def png_bytes(size=(120, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Hostile:
    """Ids of the other organisation's rows (site2 / college2), one of each kind."""

    student: int
    grade: int
    language: int
    form: int
    audit: int
    application: int
    signature: int
    task: int
    oplog: int
    account: int
    site: int
    major: int
    plan: int
    plan_course: int
    graduation_batch: int
    degree_batch: int
    exception: int = 0  # a 课程替代 of student2 (待审核)


@pytest.fixture()
def hostile(world, app) -> Hostile:
    """Rows of every kind for student2 / site2 / college2 (only student2 has a degree application)."""
    from app.models import Account, DegreeApplication, Grade, GraduateForm, LanguageScore, OperationLog, PlanCourse
    from app.services import oplog, signatures, tasks
    from app.statuses import TaskState

    s2 = world.student2
    factories.grades(s2, factories.ALL_PASS)
    factories.language(s2, 75)
    factories.grades(world.student1, factories.ALL_PASS)
    gb = factories.graduation_batch()
    audit = factories.graduation_result(s2, "pre_graduate", published=True)
    audit.diploma_no = "103041202505000001"
    db_batch = factories.degree_batch()
    appl = DegreeApplication(batch_id=db_batch.id, student_id=s2.id, result="unaudited")
    db.session.add(appl)
    db.session.flush()
    jxd002 = db.session.scalar(select(Account).where(Account.username == "jxd002"))
    sig = signatures.upload_signature(jxd002, png_bytes(), actor=jxd002)
    appl.review_signature_id = sig.id
    task = tasks.create_task("demo", actor=jxd002, params={"n": 1}, scope_text=f"{OTHER_NAME} {OTHER_NO}")
    task.state = TaskState.FAILED.value
    entry = oplog.record(actor=jxd002, action="record_update", record=s2, student=s2, new=f"{OTHER_NAME} {OTHER_NO}")
    from app.models import CourseException

    exc = CourseException(student_id=s2.id, course_code="C02", course_name="大学英语", kind="waiver", reason="篡改",
                          status="pending")
    db.session.add(exc)
    db.session.commit()
    return Hostile(
        student=s2.id,
        grade=db.session.scalar(select(Grade.id).where(Grade.student_id == s2.id)),
        language=db.session.scalar(select(LanguageScore.id).where(LanguageScore.student_id == s2.id)),
        form=db.session.scalar(select(GraduateForm.id).where(GraduateForm.student_id == s2.id)),
        audit=audit.id,
        application=appl.id,
        signature=sig.id,
        task=task.id,
        oplog=entry.id if entry is not None else db.session.scalar(select(OperationLog.id)),
        account=jxd002.id,
        site=world.site2.id,
        major=world.major2.id,
        plan=world.plan2.id,
        plan_course=db.session.scalar(select(PlanCourse.id).where(PlanCourse.plan_id == world.plan2.id)),
        graduation_batch=gb.id,
        degree_batch=db_batch.id,
        exception=exc.id,
    )


def fingerprint() -> dict[str, tuple[int, str]]:
    """(row count, sha256 of all rows) per table: any insert, update or delete changes it."""
    from flask_appbuilder import Model

    db.session.expire_all()
    out = {}
    for table in Model.metadata.sorted_tables:
        rows = db.session.execute(table.select()).all()
        digest = hashlib.sha256(repr(sorted(repr(tuple(r)) for r in rows)).encode()).hexdigest()
        out[table.name] = (len(rows), digest)
    return out


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


class AnonClient(Client):
    """A client that is not logged in; it takes its CSRF token from the login page."""


REQUIRED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}


def csp_directives(value: str) -> dict[str, list[str]]:
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def check_headers(resp, where: str) -> list[str]:
    problems = []
    for name, value in REQUIRED.items():
        if resp.headers.get(name) != value:
            problems.append(f"{where}: {name}={resp.headers.get(name)!r}")
    csp = csp_directives(resp.headers.get("Content-Security-Policy", ""))
    if csp.get("default-src") != ["'self'"] or csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"{where}: CSP {csp}")
    scripts = csp.get("script-src", [])
    if "'unsafe-eval'" in scripts or "'unsafe-inline'" in scripts or any("http" in src for src in scripts):
        problems.append(f"{where}: script-src too wide {scripts}")
    if resp.mimetype == "text/html":
        problems += check_scripts(resp.get_data(as_text=True), scripts, where)
    return problems


INLINE_HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def check_scripts(html: str, script_src: list[str], where: str) -> list[str]:
    """Under a nonce CSP a page works only if every inline script carries the response's nonce and no
    element has an inline handler (onclick=…, which no nonce can allow) or a javascript: URL."""
    problems = []
    nonces = [s[len("'nonce-"):-1] for s in script_src if s.startswith("'nonce-")]
    for attrs, body in SCRIPT_TAG.findall(html):
        if "src=" in attrs or not body.strip():
            continue
        found = re.search(r'nonce="([^"]*)"', attrs)
        if not found or found.group(1) not in nonces or not found.group(1):
            problems.append(f"{where}: inline script without this response's nonce: {body.strip()[:80]!r}")
    if INLINE_HANDLER.search(html):
        problems.append(f"{where}: inline event handler {INLINE_HANDLER.search(html).group(0)[-120:]!r}")
    if re.search(r'(?:href|src|action)\s*=\s*"\s*javascript:', html, re.I):
        problems.append(f"{where}: javascript: URL")
    return problems



def now_naive() -> dt.datetime:
    return dt.datetime.now()


def free_port() -> int:
    """A loopback TCP port nobody listens on now (for a private server a test starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
