"""Every role against the other organisation's rows: nothing is shown, nothing changes.

For each of jxd001 (site1), jxd002 (site2), xy001 (college1), xy002 (college2) and a student, every
route of 学籍管理 over the other organisation's student, grade, 学位外语成绩 and 毕业生登记表 answers
403 or 404, and the database is exactly as before.
"""
from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import Grade, GraduateForm, LanguageScore, OperationLog, Student
from app.statuses import FormState
from tests import factories

DENIED = (403, 404)

# role -> (username, own student attr, other student attr)
ROLES = {
    "site1": ("jxd001", "student1", "student2"),
    "site2": ("jxd002", "student2", "student1"),
    "college1": ("xy001", "student1", "student2"),
    "college2": ("xy002", "student2", "student1"),
    "student": ("2020010001", "student1", "student2"),
}
STUDENT_NAMES = {"student1": "张三", "student2": "李四"}


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 80), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture()
def rows(world):
    """Grades and a language score for both students; both forms submitted."""
    for s in (world.student1, world.student2):
        factories.grades(s, factories.ALL_PASS)
        factories.language(s, 75)
    db.session.commit()

    def ids(student):
        return {
            "student": student.id,
            "grade": db.session.scalar(select(Grade.id).where(Grade.student_id == student.id)),
            "language": db.session.scalar(select(LanguageScore.id).where(LanguageScore.student_id == student.id)),
            "form": db.session.scalar(select(GraduateForm.id).where(GraduateForm.student_id == student.id)),
        }

    return {"student1": ids(world.student1), "student2": ids(world.student2)}


def mentions(page: str, text: str) -> bool:
    """True when ``text`` is on the page as HTML or JSON-escaped (FAB's search form is embedded as JSON)."""
    return text in page or json.dumps(text)[1:-1] in page


def snapshot() -> dict:
    """Every column of every student-data row, plus the size of the operation log."""
    db.session.expire_all()
    out = {}
    for model in (Student, Grade, LanguageScore, GraduateForm):
        out[model.__name__] = sorted(
            tuple(getattr(r, c.key) for c in model.__table__.columns) for r in db.session.scalars(select(model))
        )
    out["oplog"] = db.session.query(OperationLog).count()
    return out


BASES = {"student": "/students", "grade": "/grades", "language": "/language_scores", "form": "/graduate_forms"}


@pytest.mark.parametrize("role", list(ROLES))
def test_other_org_rows_cannot_be_read(role, login, rows):
    """show/edit pages of the other organisation's rows answer 403 or 404."""
    username, _own, other = ROLES[role]
    client = login(username)
    for kind, base in BASES.items():
        pk = rows[other][kind]
        assert client.get(f"{base}/show/{pk}").status_code in DENIED, (kind, "show")
        assert client.get(f"{base}/edit/{pk}").status_code in DENIED, (kind, "edit")
    assert client.get(f"/students/photo/{rows[other]['student']}").status_code in DENIED


@pytest.mark.parametrize("role", list(ROLES))
def test_other_org_rows_cannot_be_changed(role, login, rows):
    """edit, delete, photo upload and actions on the other organisation's rows change nothing."""
    username, _own, other = ROLES[role]
    client = login(username)
    before = snapshot()
    target = rows[other]
    assert client.post(f"/students/edit/{target['student']}",
                       data={"name": "篡改", "student_no": "9999"}).status_code in DENIED
    assert client.post(f"/grades/edit/{target['grade']}", data={"raw_score": "0"}).status_code in DENIED
    assert client.post(f"/language_scores/edit/{target['language']}", data={"score": "1"}).status_code in DENIED
    assert client.post(f"/graduate_forms/edit/{target['form']}",
                       data={"self_assessment": "x", "state": "draft"}).status_code in DENIED
    for kind, base in BASES.items():
        assert client.post(f"{base}/delete/{target[kind]}").status_code in DENIED, (kind, "delete")
    resp = client.post(f"/students/upload_photo/{target['student']}",
                       data={"photo": (io.BytesIO(jpeg_bytes()), "p.jpg")}, content_type="multipart/form-data")
    assert resp.status_code in DENIED
    assert client.post("/graduate_forms/action_post",
                       data={"action": "review_form", "rowid": [str(target["form"])]}).status_code in DENIED
    assert client.post(f"/graduate_forms/action/review_form/{target['form']}").status_code in DENIED
    assert snapshot() == before


@pytest.mark.parametrize("role", ["site1", "site2", "college1", "college2"])
def test_list_pages_show_only_the_scope(role, login, rows):
    """List pages (and their search dropdowns) name only in-scope students and organisations."""
    username, own, other = ROLES[role]
    client = login(username)
    for base in BASES.values():
        page = client.get(f"{base}/list/").get_data(as_text=True)
        assert mentions(page, STUDENT_NAMES[own]), base
        assert not mentions(page, STUDENT_NAMES[other]), base
    page = client.get("/students/list/").get_data(as_text=True)
    own_site, other_site = ("南通教学点", "如皋教学点") if own == "student1" else ("如皋教学点", "南通教学点")
    own_major, other_major = ("工商管理", "数学与应用数学") if own == "student1" else ("数学与应用数学", "工商管理")
    assert mentions(page, own_site) and mentions(page, own_major)  # the dropdowns are there...
    assert not mentions(page, other_site) and not mentions(page, other_major)  # ...without the others'



def test_action_post_with_a_foreign_rowid_changes_nothing(login, rows):
    """One foreign id among own ids refuses the whole action: the own form stays 已提交 too."""
    client = login("jxd001")
    own, foreign = rows["student1"]["form"], rows["student2"]["form"]
    resp = client.post("/graduate_forms/action_post", data={"action": "review_form", "rowid": [str(own), str(foreign)]})
    assert resp.status_code == 404
    states = {f.id: f.state for f in db.session.scalars(select(GraduateForm))}
    assert states[own] == FormState.SUBMITTED.value and states[foreign] == FormState.SUBMITTED.value


def test_action_post_on_own_rows_works(login, rows):
    """The same action on an in-scope row is carried out and logged (the scope check is not a blanket refusal)."""
    client = login("jxd001")
    own = rows["student1"]["form"]
    resp = client.post("/graduate_forms/action_post", data={"action": "review_form", "rowid": [str(own)]})
    assert resp.status_code == 302
    assert db.session.get(GraduateForm, own).state == FormState.REVIEWED.value
    assert db.session.query(OperationLog).filter_by(record_type="GraduateForm", record_id=own).count() == 1


def test_site_admin_cannot_edit_own_students(site_client, rows):
    """Only the CE admin edits records: a site admin's edit and delete of an own student are 403."""
    before = snapshot()
    pk = rows["student1"]["student"]
    assert site_client.get(f"/students/edit/{pk}").status_code == 403
    assert site_client.post(f"/students/edit/{pk}", data={"name": "篡改"}).status_code == 403
    assert site_client.post(f"/students/delete/{pk}").status_code == 403
    assert site_client.get("/students/add").status_code == 403
    assert snapshot() == before


def test_student_sees_only_self(student_client, rows, world):
    """A student gets 403 on every admin page and 学生空间 shows only the student's own record."""
    for url in ["/students/list/", f"/students/show/{world.student1.id}", "/grades/list/", "/language_scores/list/",
                "/graduate_forms/list/", "/plans/list/", "/tasks/", "/tasks/status?ids=1", "/oplog/list/",
                "/accounts/list/", "/organisations/list/", "/majors/list/", f"/students/photo/{world.student1.id}"]:
        assert student_client.get(url).status_code == 403, url
    page = student_client.get("/space/").get_data(as_text=True)
    assert "张三" in page and "李四" not in page


@pytest.mark.parametrize("role", list(ROLES))
def test_worksheet_of_the_other_organisation_is_refused(role, login, rows):
    """毕业进度 (审核预览 of a student) with what-if rows: the other organisation's student answers 403/404 and
    nothing changes; a student's own 毕业进度 has no id in its URL and names only the student."""
    username, own, other = ROLES[role]
    client = login(username)
    before = snapshot()
    for query in ("", "?course=C02&score=70"):
        url = f"/graduation/audit/student/{rows[other]['student']}/progress{query}"
        assert client.get(url).status_code in DENIED, url
    if role == "student":
        page = client.get("/space/progress?course=C02&score=70").get_data(as_text=True)
        assert mentions(page, STUDENT_NAMES[own]) and not mentions(page, STUDENT_NAMES[other])
    else:
        page = client.get(f"/graduation/audit/student/{rows[own]['student']}/progress?course=C02&score=70")
        assert page.status_code == 200 and not mentions(page.get_data(as_text=True), STUDENT_NAMES[other])
    assert snapshot() == before
