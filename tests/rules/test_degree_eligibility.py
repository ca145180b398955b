"""Who may apply for a degree: one ``may_apply_for_degree`` for 学生空间, 代为申请 and the 学位条件审核
(issue 13: a student imported as 学籍状态 毕业 was refused the application but passed the audit)."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from app.audit.confirmation import has_graduated
from app.audit.degree import DegreeMarks, LanguageExam, audit_degree, may_apply_for_degree
from app.extensions import db
from app.models import Account, DegreeApplication
from app.services import degree
from app.services.errors import DomainError
from app.statuses import ConfirmState, EnrolmentStatus, GraduationResult
from tests import factories
from tests.audit.test_degree_rules import GOOD_BEST, PLAN
from tests.clients import press

RESULTS = [None, *(m.value for m in GraduationResult)]
STATES = [None, *(m.value for m in ConfirmState)]
STATUSES = [m.value for m in EnrolmentStatus]


@pytest.mark.parametrize(("result", "state", "status"), list(itertools.product(RESULTS, STATES, STATUSES)))
def test_application_and_audit_give_the_same_answer(result, state, status):
    """For every graduation result × 确认状态 × 学籍状态: the audit's graduation condition holds exactly when
    the student may apply, and that is SPEC §4's "预毕业 or 已毕业"."""
    allowed = may_apply_for_degree(result, state, status)
    graduated = has_graduated(state, status)
    assert allowed is (result == GraduationResult.PRE_GRADUATE.value or state == ConfirmState.PUBLISHED.value
                       or status == EnrolmentStatus.GRADUATED.value)
    verdict = audit_degree(result, graduated, (LanguageExam(80.0, None),), PLAN, GOOD_BEST, DegreeMarks())
    assert verdict.ok is allowed
    assert ("graduation_not_met" in [r.code for r in verdict.reasons]) is (not allowed)


def _imported_graduate(world):
    """张三 imported as 学籍状态 毕业, never audited by the platform, in an open degree batch."""
    s = world.student1
    s.status = EnrolmentStatus.GRADUATED.value
    factories.degree_batch()
    db.session.commit()
    return s


def test_an_imported_graduate_may_apply_in_student_space(world, student_client):
    """学生空间 accepts the application of a student already marked 毕业 (it used to answer 未审核)."""
    s = _imported_graduate(world)
    page = student_client.post("/space/degree/apply", follow_redirects=True).get_data(as_text=True)
    assert "学位申请已提交" in page and "暂不能申请学位" not in page
    assert db.session.scalar(select(DegreeApplication.id).where(DegreeApplication.student_id == s.id)) is not None


def test_an_imported_graduate_may_be_registered_and_passes_the_graduation_condition(world, site_client):
    """代为申请 accepts the same student, and the audit's facts let the graduation condition pass."""
    s = _imported_graduate(world)
    r = press(site_client, "/degree/audit/register", data={"ids": [s.id]}, follow_redirects=True)
    assert "已为 1 名学生代为提交学位申请" in r.get_data(as_text=True)
    f = degree.gather_facts([s])[s.id]
    verdict = audit_degree(f.graduation_result, f.graduated, f.exams, f.plan, f.best, DegreeMarks())
    assert "graduation_not_met" not in [r.code for r in verdict.reasons]


@pytest.mark.parametrize("result", [None, GraduationResult.FAILED.value, GraduationResult.UNAUDITED.value])
def test_an_enrolled_student_without_pre_graduate_is_refused_everywhere(world, result):
    """在籍 and not 预毕业: refused by the application path, and the audit names the graduation condition."""
    s = world.student1
    factories.degree_batch()
    if result is not None:
        factories.graduation_result(s, result)
    db.session.commit()
    ce = db.session.scalar(select(Account).where(Account.username == "jjy001"))
    with pytest.raises(DomainError, match="需为预毕业或已毕业，暂不能申请学位"):
        degree.register_application(s.id, ce)
    f = degree.gather_facts([s])[s.id]
    verdict = audit_degree(f.graduation_result, f.graduated, f.exams, f.plan, f.best, DegreeMarks())
    assert verdict.reasons[0].code == "graduation_not_met"
