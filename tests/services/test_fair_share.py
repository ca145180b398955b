"""A fair share of the job queue: one organisation may have at most ORG_OPEN_TASKS_MAX tasks queued or running,
so that a burst from one teaching site (ten full-site archive exports) cannot make every other organisation
wait behind it."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Account, Task
from app.models.base import utcnow
from app.services import tasks
from app.services.errors import Conflict
from app.statuses import TaskState


def _acct(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def _queue(username: str, n: int) -> list[Task]:
    made = [tasks.create_task("demo", actor=_acct(username), params={"n": 1}, scope_text="测试") for _ in range(n)]
    db.session.commit()
    return made


def test_the_fourth_open_task_of_one_site_is_refused_in_chinese(app, world):
    """Three tasks queued for 教学点 1: the fourth is refused with a message saying why; nothing is added."""
    _queue("jxd001", 3)
    with pytest.raises(Conflict) as refused:
        tasks.create_task("demo", actor=_acct("jxd001"), params={"n": 1})
    assert refused.value.message == ("本单位已有 3 个任务在排队或执行中（每个单位最多同时 3 个），"
                                     "请在任务中心等待其中一个完成后再提交")
    db.session.rollback()
    assert db.session.query(Task).count() == 3


def test_other_organisations_are_not_held_back(app, world):
    """One site's full share does not count against another site or the college."""
    _queue("jxd001", 3)
    _queue("jxd002", 3)
    _queue("xy001", 1)
    assert db.session.query(Task).count() == 7


def test_a_finished_task_frees_its_slot(app, world):
    """Succeeded and failed tasks do not count."""
    first, second, _ = _queue("jxd001", 3)
    first.state = TaskState.SUCCEEDED.value
    second.state = TaskState.FAILED.value
    db.session.commit()
    _queue("jxd001", 2)


def test_a_task_whose_worker_died_is_reaped_and_frees_its_slot(app, world):
    """A 'running' task silent past TASK_STALE_SECONDS is marked 失败 first, then the new one is accepted."""
    stale, *_ = _queue("jxd001", 3)
    stale.state = TaskState.RUNNING.value
    stale.heartbeat_at = utcnow() - dt.timedelta(seconds=app.config["TASK_STALE_SECONDS"] + 60)
    db.session.commit()
    _queue("jxd001", 1)
    db.session.refresh(stale)
    assert stale.state == TaskState.FAILED.value and stale.error == tasks.STALE_MESSAGE
