"""CSRF: every state-changing request needs the form token; deletion and actions never work by GET."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Account, Grade, GraduateForm, Task
from app.services import tasks
from app.statuses import FormState, TaskState
from tests import factories


@pytest.fixture()
def grade_id(world):
    factories.grades(world.student1, {"C01": 80})
    db.session.commit()
    return db.session.scalar(select(Grade.id))


def test_password_change_without_token_is_refused(site_client):
    """修改密码 without the token answers 400 and keeps the old password."""
    before = db.session.query(Account).filter_by(username="jxd001").one().password
    resp = site_client.post("/account/password", csrf=False, data={
        "old_password": factories.PASSWORD, "new_password": "Another2024x", "confirm_password": "Another2024x"})
    assert resp.status_code == 400
    assert db.session.query(Account).filter_by(username="jxd001").one().password == before


def test_action_post_without_token_is_refused(site_client, world):
    """An FAB action_post without the token answers 400 and changes nothing."""
    form_id = db.session.scalar(select(GraduateForm.id).where(GraduateForm.student_id == world.student1.id))
    resp = site_client.post("/graduate_forms/action_post", csrf=False,
                            data={"action": "review_form", "rowid": [str(form_id)]})
    assert resp.status_code == 400
    assert db.session.get(GraduateForm, form_id).state == FormState.SUBMITTED.value
    resp = site_client.get(f"/graduate_forms/action/review_form/{form_id}")
    assert db.session.get(GraduateForm, form_id).state == FormState.SUBMITTED.value


def test_delete_without_token_is_refused(ce_client, grade_id):
    """A delete POST without the token answers 400 and the row stays."""
    assert ce_client.post(f"/grades/delete/{grade_id}", csrf=False).status_code == 400
    assert db.session.get(Grade, grade_id) is not None


def test_get_delete_does_not_delete(ce_client, grade_id):
    """Deletion is POST only: a GET (a link, an <img src>) deletes nothing."""
    assert ce_client.get(f"/grades/delete/{grade_id}").status_code == 405
    db.session.expire_all()
    assert db.session.get(Grade, grade_id) is not None
    assert ce_client.post(f"/grades/delete/{grade_id}").status_code == 302  # with the token it works
    assert db.session.get(Grade, grade_id) is None


def test_custom_posts_without_token_are_refused(site_client, world):
    """Photo upload and task retry without the token answer 400 and change nothing."""
    resp = site_client.post(f"/students/upload_photo/{world.student1.id}", csrf=False,
                            data={"photo": (b"x", "p.jpg")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert db.session.get(type(world.student1), world.student1.id).photo_path == "photos/test.jpg"
    actor = db.session.query(Account).filter_by(username="jxd001").one()
    task = tasks.create_task("demo", actor=actor, params={"n": 1})
    task.state = TaskState.FAILED.value
    db.session.commit()
    assert site_client.post(f"/tasks/retry/{task.id}", csrf=False).status_code == 400
    assert db.session.query(Task).count() == 1
