"""Double submission and concurrency: the same action twice has the effect of one; 20 parallel 发布 calls
give unique, gap-free diploma numbers without a deadlock.

Runs on SQLite, or on PostgreSQL when TEST_DATABASE_URL points to it (CI runs both).
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import runner
from app.models import Account, DegreeApplication, GraduationAudit, OperationLog
from app.security import Scope
from app.services.errors import DomainError
from tests import factories
from tests.clients import press
from tests.reliability.conftest import png_bytes

N = 30


def logs(action: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(OperationLog.id)).where(OperationLog.action == action))


def numbers() -> list[str]:
    db.session.expire_all()
    return db.session.scalars(select(GraduationAudit.diploma_no).where(GraduationAudit.diploma_no.isnot(None))).all()


def assert_unique_gap_free(nos: list[str], n: int) -> None:
    assert len(nos) == n and len(set(nos)) == n
    serials = sorted(int(x[-6:]) for x in nos)
    assert serials == list(range(serials[0], serials[0] + n)), serials


@pytest.fixture()
def pre_graduates(world):
    """N students of site1, each 预毕业 in an open 毕业批次."""
    factories.graduation_batch()
    for i in range(N):
        s = factories.student(world.site1, world.major1, no=f"2020300{i:03d}", name=f"学生{i}")
        factories.graduation_result(s, "pre_graduate")
    factories.graduation_result(world.student1, "pre_graduate")
    db.session.commit()
    return N + 1


def test_confirm_twice_confirms_once(site_client, pre_graduates):
    """一键确认毕业 posted twice: every student confirmed once, one log entry each, second is a no-op."""
    assert press(site_client, "/graduation/audit/confirm", data={}).status_code == 302
    first = logs("graduation_confirm")
    stamps = dict(db.session.execute(select(GraduationAudit.id, GraduationAudit.confirmed_at)).all())
    assert press(site_client, "/graduation/audit/confirm", data={}).status_code == 302
    assert first == pre_graduates and logs("graduation_confirm") == first
    assert dict(db.session.execute(select(GraduationAudit.id, GraduationAudit.confirmed_at)).all()) == stamps


def test_publish_twice_numbers_once(site_client, ce_client, pre_graduates):
    """发布 posted twice: each student one diploma number, numbers gap-free, one log entry each."""
    press(site_client, "/graduation/audit/confirm", data={})
    assert press(ce_client, "/graduation/audit/publish", data={}).status_code == 302
    first = sorted(numbers())
    press(ce_client, "/graduation/audit/publish", data={})
    assert sorted(numbers()) == first
    assert_unique_gap_free(first, pre_graduates)
    assert logs("graduation_publish") == pre_graduates


def test_review_twice_reviews_once(app, world):
    """初审 posted twice: the row is reviewed once and the log has one entry."""
    from app.services import signatures
    from tests.clients import RoleClient

    batch = factories.degree_batch()
    appl = DegreeApplication(batch_id=batch.id, student_id=world.student1.id, result="met", computed_result="met")
    db.session.add(appl)
    jxd001 = db.session.scalar(select(Account).where(Account.username == "jxd001"))
    signatures.upload_signature(jxd001, png_bytes(), jxd001)
    db.session.commit()
    client = RoleClient(app, "jxd001")
    form = {"ids": [str(appl.id)], "review_opinion": "agree", "review_comment": "同意"}
    assert press(client, "/degree/audit/review", data=form).status_code == 302
    reviewed = db.session.get(DegreeApplication, appl.id)
    assert reviewed.review_opinion == "agree"
    at, n = reviewed.reviewed_at, logs("degree_review")
    press(client, "/degree/audit/review", data=form)
    assert n == 1 and logs("degree_review") == 1
    assert db.session.get(DegreeApplication, appl.id).reviewed_at == at


def test_twenty_parallel_publish_calls(app, site_client, pre_graduates):
    """20 threads start 发布 at once over the same rows: unique gap-free numbers, no deadlock (< 90 s)."""
    from app.services import graduation

    press(site_client, "/graduation/audit/confirm", data={})
    ce_id = db.session.scalar(select(Account.id).where(Account.username == "jjy001"))
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def publish():
        with app.app_context():
            try:
                barrier.wait(timeout=30)  # before any connection: the pool holds 15, there are 20 threads
                actor = db.session.get(Account, ce_id)
                task = graduation.start_task("graduation_publish", actor=actor, scope=Scope("all"), filters={})
                runner.submit(task)
                outcome = "ran"
            except DomainError as exc:
                db.session.rollback()
                outcome = f"refused: {exc.message[:20]}"
            except Exception as exc:  # noqa: BLE001 — recorded and asserted below
                db.session.rollback()
                outcome = f"error: {type(exc).__name__}: {exc}"[:200]
            finally:
                db.session.remove()
        with lock:
            outcomes.append(outcome)

    start = time.monotonic()
    threads = [threading.Thread(target=publish, daemon=True) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    elapsed = time.monotonic() - start
    assert not any(t.is_alive() for t in threads), "a publish call hung (deadlock?)"
    errors = [o for o in outcomes if o.startswith("error")]
    # On SQLite a writer may time out on the database lock; it must then have changed nothing.
    unexpected = [o for o in errors if "locked" not in o]
    assert not unexpected, unexpected
    assert any(o == "ran" for o in outcomes), outcomes
    assert_unique_gap_free(numbers(), pre_graduates)
    assert logs("graduation_publish") == pre_graduates
    from tests.reliability.test_login import _record

    _record("parallel_publish", f"{db.engine.dialect.name}: 20 calls in {elapsed:.1f}s, "
                                f"{outcomes.count('ran')} ran, {len(outcomes) - outcomes.count('ran')} refused/failed")


def test_two_publications_over_the_same_rows_number_each_student_once(app, site_client, pre_graduates, monkeypatch):
    """Two 发布 runs over the same students at the same moment (e.g. a 重试 while the first run is still
    committing, which the task lock does not prevent): both pick the rows, then race for the numbers.
    Every student is numbered once, numbers are unique and gap-free, one log entry each."""
    from app.services import graduation
    from app.services.graduation import publish as graduation_publish

    press(site_client, "/graduation/audit/confirm", data={})
    ce_id = db.session.scalar(select(Account.id).where(Account.username == "jjy001"))
    ids = list(db.session.scalars(select(GraduationAudit.student_id)))
    db.session.commit()
    real_allocate = graduation_publish.allocate
    barrier = threading.Barrier(2)

    def allocate_together(prefix, count):
        try:  # both runs reach the numbering with the rows they picked (unless one is held by row locks)
            barrier.wait(timeout=3)
        except threading.BrokenBarrierError:
            pass
        return real_allocate(prefix, count)

    monkeypatch.setattr(graduation_publish, "allocate", allocate_together)
    outcomes: list[str] = []

    def publish():
        with app.app_context():
            try:
                actor = db.session.get(Account, ce_id)
                done = graduation.publish_students(ids, task_id=None, actor=actor,
                                                   progress=lambda *a: db.session.commit())
                db.session.commit()
                outcomes.append(f"published {sum(done.values())}")
            except Exception as exc:  # noqa: BLE001 — SQLite may refuse the second writer; asserted below
                db.session.rollback()
                outcomes.append(f"error: {exc}"[:200])
            finally:
                db.session.remove()

    threads = [threading.Thread(target=publish, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "a publication hung"
    assert not [o for o in outcomes if o.startswith("error") and "locked" not in o], outcomes
    assert_unique_gap_free(numbers(), pre_graduates)
    assert logs("graduation_publish") == pre_graduates


def _in_parallel(app, n: int, work) -> list[str]:
    """Run ``work()`` in n threads released together (own app context and session each)."""
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def run():
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcome = work()
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                outcome = f"refused: {exc.message[:20]}"
            except Exception as exc:  # noqa: BLE001 — asserted by the caller
                db.session.rollback()
                outcome = f"error: {type(exc).__name__}: {exc}"[:200]
            finally:
                db.session.remove()
        with lock:
            outcomes.append(str(outcome))

    threads = [threading.Thread(target=run, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "a call hung (deadlock?)"
    unexpected = [o for o in outcomes if o.startswith("error") and "locked" not in o]
    assert not unexpected, unexpected
    return outcomes


def test_twenty_parallel_confirm_calls(app, pre_graduates):
    """20 threads press 一键确认毕业 at once over the same students: each confirmed once, one log entry each."""
    from app.services import graduation

    site_id = db.session.scalar(select(Account.id).where(Account.username == "jxd001"))
    scope_org = db.session.get(Account, site_id).org_id

    def confirm():
        return graduation.confirm({}, Scope("site", org_id=scope_org), db.session.get(Account, site_id)).confirmed

    outcomes = _in_parallel(app, 20, confirm)
    db.session.expire_all()
    assert sum(int(o) for o in outcomes if o.isdigit()) == pre_graduates, outcomes
    assert db.session.scalar(select(func.count()).where(GraduationAudit.confirmed_at.is_not(None))) == pre_graduates
    assert logs("graduation_confirm") == pre_graduates


def test_twenty_parallel_review_calls(app, world):
    """20 threads submit the same 初审 at once: every application reviewed once, one log entry each."""
    from app.services import degree, signatures

    batch = factories.degree_batch()
    apps = []
    for i in range(10):
        s = factories.student(world.site1, world.major1, no=f"2020400{i:03d}", name=f"申请{i}")
        appl = DegreeApplication(batch_id=batch.id, student_id=s.id, result="met", computed_result="met")
        db.session.add(appl)
        apps.append(appl)
    jxd001 = db.session.scalar(select(Account).where(Account.username == "jxd001"))
    signatures.upload_signature(jxd001, png_bytes(), jxd001)
    db.session.commit()
    ids = [a.id for a in apps]

    def review():
        actor = db.session.scalar(select(Account).where(Account.username == "jxd001"))
        return degree.first_review(ids, "agree", "同意", actor)

    _in_parallel(app, 20, review)
    db.session.expire_all()
    assert all(db.session.get(DegreeApplication, i).review_opinion == "agree" for i in ids)
    assert logs("degree_review") == len(ids)
