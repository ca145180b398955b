"""学位外语: one answer to "does this record count as passed" for the page, the import and the audit
(issue 13: the page hard-coded 60 and marked every PETS-3 passed, the import stored CET-4 < 425 as not
passed, the audit accepted any substitute)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.audit.degree import DegreeMarks, LanguageExam, audit_degree
from app.audit.language import language_passed
from app.extensions import db
from app.imports.validate import Lookups, validate_language
from app.models import Account, DegreeApplication, LanguageScore, Task
from app.jobs import runner
from app.services import degree
from app.statuses import DegreeConditionResult, GraduationResult, SubstituteExam, TaskState
from tests import factories
from tests.audit.test_degree_rules import GOOD_BEST, PLAN

CET4, PETS3 = SubstituteExam.CET4.value, SubstituteExam.PETS3.value
PRE = GraduationResult.PRE_GRADUATE.value
MET, NOT_MET = DegreeConditionResult.MET.value, DegreeConditionResult.NOT_MET.value


@pytest.mark.parametrize(("score", "substitute", "substitute_score", "recorded", "mark", "passed"), [
    (60.0, None, None, None, 60, True),
    (59.5, None, None, None, 60, False),
    (65.0, None, None, None, 70, False),     # the batch's mark, not a hard-coded 60
    (55.0, None, None, None, 50, True),
    (None, CET4, 425.0, None, 60, True),
    (None, CET4, 424.5, None, 60, False),
    (None, CET4, None, True, 60, False),     # a CET-4 without its score proves nothing
    (None, PETS3, 72.0, None, 60, True),
    (None, PETS3, 40.0, None, 60, False),    # a failed PETS-3 score is no pass
    (None, PETS3, None, True, 60, True),     # certificate: 合格
    (None, PETS3, None, False, 60, False),   # recorded 不合格
    (None, PETS3, None, None, 60, False),
    (None, "toefl", 100.0, True, 60, False),
    (None, None, None, None, 60, False),
])
def test_language_passed(score, substitute, substitute_score, recorded, mark, passed):
    """SPEC §2/§4: own exam ≥ the batch mark, CET-4 ≥ 425, PETS-3 合格."""
    assert language_passed(score, substitute, substitute_score, recorded, mark) is passed


def test_the_audit_no_longer_accepts_any_substitute():
    """A CET-4 of 400 or a PETS-3 不合格 does not meet 学位外语 (the audit accepted any substitute)."""
    for exam in (LanguageExam(None, CET4, 400.0), LanguageExam(None, PETS3, 40.0), LanguageExam(None, PETS3, None, False)):
        verdict = audit_degree(PRE, False, (exam,), PLAN, GOOD_BEST, DegreeMarks())
        assert [r.code for r in verdict.reasons] == ["language_missing"], exam
    assert audit_degree(PRE, False, (LanguageExam(None, CET4, 430.0),), PLAN, GOOD_BEST, DegreeMarks()).ok


# the records as the page takes them (form values) and as the import takes them (cells), with the one answer
RECORDS = [
    # (page form, import cells, passed at the default mark)
    ({"score": "72"}, {"成绩": 72}, True),
    ({"score": "52"}, {"成绩": 52}, False),
    ({"substitute": CET4, "substitute_score": "480"}, {"替代考试": "大学英语四级", "替代成绩": 480}, True),
    ({"substitute": PETS3, "substitute_score": "40"}, {"替代考试": "PETS-3", "替代成绩": 40}, False),
    ({"substitute": PETS3, "substitute_score": "75"}, {"替代考试": "PETS-3", "替代成绩": 75}, True),
    ({"substitute": PETS3}, {"替代考试": "PETS-3"}, True),
]


@pytest.mark.parametrize(("form", "cells", "passed"), RECORDS)
def test_page_import_and_audit_agree(world, ce_client, form, cells, passed):
    """The same record entered on the 学位外语成绩 page and imported from Excel is stored with the same
    合格, which is ``language_passed``'s answer; the 学位条件审核 decides the same."""
    data = {"student_no": world.student1.student_no, "exam_date": "2023-06-01", "score": "", "substitute": "",
            "substitute_score": "", **form}
    assert ce_client.post("/language_scores/add", data=data).status_code == 302
    paged = db.session.scalar(select(LanguageScore).where(LanguageScore.student_id == world.student1.id))
    assert paged is not None and paged.passed is passed

    row = {"学号": world.student2.student_no, "考试日期": dt.datetime(2023, 6, 1), "成绩": None, "替代考试": None,
           "替代成绩": None, **cells}
    records, errors = validate_language([(2, row)], Lookups(students={world.student2.student_no: world.student2.id},
                                                            today=dt.date(2025, 1, 1)))
    assert errors == [] and records[0]["passed"] is passed

    recorded = paged.passed if paged.substitute else None
    assert language_passed(paged.score, paged.substitute, paged.substitute_score, recorded) is passed
    exams = degree.gather_facts([world.student1])[world.student1.id].exams
    assert audit_degree(PRE, False, exams, PLAN, GOOD_BEST, DegreeMarks()).ok is passed


def test_the_audit_decides_with_the_batch_mark_not_the_stored_flag(world):
    """A 65 stored as 合格 (default mark) fails a batch whose mark is 70; a CET-4 of 400 stored as 合格 by an
    older page still fails: the job asks ``language_passed`` with the batch's mark."""
    batch = factories.degree_batch(language_pass_mark=70)
    for s in (world.student1, world.student2):
        factories.grades(s, {"C01": 90, "C02": 90})
        factories.graduation_result(s)
        db.session.add(DegreeApplication(batch_id=batch.id, student_id=s.id))
    db.session.add(LanguageScore(student_id=world.student1.id, exam_date=dt.date(2023, 6, 1), score=65.0, passed=True))
    db.session.add(LanguageScore(student_id=world.student2.id, exam_date=dt.date(2023, 6, 1), score=None,
                                 substitute=CET4, substitute_score=400.0, passed=True))
    db.session.commit()
    ce = db.session.scalar(select(Account).where(Account.username == "jjy001"))
    task = degree.start_audit(ce, flt=degree.DegreeFilter(batch_id=batch.id))
    runner.submit(task)
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == TaskState.SUCCEEDED.value
    apps = {a.student_id: a for a in db.session.scalars(select(DegreeApplication))}
    first = apps[world.student1.id]
    assert first.result == NOT_MET
    assert [r["message"] for r in first.computed_reasons] == ["学位外语成绩 65，低于合格线 70"]
    assert [r["code"] for r in apps[world.student2.id].computed_reasons] == ["language_missing"]
