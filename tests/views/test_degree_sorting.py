"""学位申请审核管理 / 学位授予管理 sort by 学位外语成绩 and 学位课程平均分 (issue 16): through the SQL forms of
the rules (``list_order.APPLICATION_ORDER``), both directions, the empty figures last either way, ties by id."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.extensions import db
from app.models import CourseException, DegreeApplication
from app.statuses import ExceptionKind, ExceptionStatus, SubstituteExam
from tests import factories
from tests.clients import DEGREE_AUDIT, DEGREE_GRANTS

# 学号 → (degree course scores of plan1: C01 高等数学, C02 大学英语; 学位外语 record or None)
APPLICANTS = {
    "2020030001": ({"C01": 90, "C02": 80}, 75.0),           # 平均 85, 外语 75
    "2020030002": ({"C01": 60, "C02": 62}, 90.0),           # 平均 61, 外语 90
    "2020030003": ({"C01": 70}, None),                      # 平均 70 (C02 未修), no 外语
    "2020030004": ({"C02": 50}, "cet4"),                    # C01 免修: 平均 50; 四级 (替代)
    "2020030005": ({}, None),                               # nothing: both empty
    "2020030006": ({"C01": 85, "C02": 85}, 75.0),           # ties 0001 on both figures
}


@pytest.fixture()
def applicants(world):
    """Six applications of one batch in site1/major1 (plan1), created in 学号 order (so ids follow 学号)."""
    batch = factories.degree_batch()
    for no, (scores, language) in APPLICANTS.items():
        s = factories.student(world.site1, world.major1, no=no, name=f"学生{no[-1]}")
        factories.grades(s, scores)
        if language == "cet4":
            factories.language(s, None, SubstituteExam.CET4.value)
        elif language is not None:
            factories.language(s, language)
        if no == "2020030004":
            db.session.add(CourseException(student_id=s.id, course_code="C01", course_name="高等数学",
                                           kind=ExceptionKind.WAIVER.value, status=ExceptionStatus.APPROVED.value,
                                           reason="测试", decided_at=dt.datetime(2026, 12, 1, 2, 0)))
        db.session.add(DegreeApplication(batch_id=batch.id, student_id=s.id))
    db.session.commit()
    return batch


def _rows(client, base: str, view: str, column: str, direction: str) -> list[tuple[str, str, str]]:
    """(学号, 学位外语成绩, 学位课程平均分) of the page's rows, in order."""
    page = client.get(f"{base}?_oc_{view}={column}&_od_{view}={direction}").get_data(as_text=True)
    return re.findall(r"<td>(20\d{8})</td>\s*(?:<td>.*?</td>\s*){5}<td>([^<]*)</td>\s*<td>([^<]*)</td>", page, re.S)


AVERAGE_ASC = ["2020030004", "2020030002", "2020030003", "2020030001", "2020030006", "2020030005"]
AVERAGE_DESC = ["2020030006", "2020030001", "2020030003", "2020030002", "2020030004", "2020030005"]
LANGUAGE_ASC = ["2020030001", "2020030006", "2020030002", "2020030004", "2020030003", "2020030005"]
LANGUAGE_DESC = ["2020030002", "2020030006", "2020030001", "2020030004", "2020030005", "2020030003"]


@pytest.mark.parametrize(("base", "view"), [(DEGREE_AUDIT, "DegreeAuditView"), (DEGREE_GRANTS, "DegreeGrantView")])
def test_average_sorts_both_ways_empty_last(applicants, ce_client, base, view):
    """学位课程平均分 ascending and descending: by the figure shown (免修 out of the average), equal figures by
    id in the list's direction, the student without any degree score last both ways."""
    if base == DEGREE_GRANTS:
        _finalise()
    up = _rows(ce_client, base, view, "average", "asc")
    down = _rows(ce_client, base, view, "average", "desc")
    assert [no for no, *_ in up] == AVERAGE_ASC
    assert [no for no, *_ in down] == AVERAGE_DESC
    assert [avg for *_, avg in up] == ["50", "61", "70", "85", "85", ""]


@pytest.mark.parametrize(("base", "view"), [(DEGREE_AUDIT, "DegreeAuditView"), (DEGREE_GRANTS, "DegreeGrantView")])
def test_language_sorts_both_ways_substitute_then_empty(applicants, ce_client, base, view):
    """学位外语成绩 ascending and descending: own scores in order, then the substitute shown as text
    (大学英语四级（替代）), then the empty ones — in both directions; ties by id in the list's direction."""
    if base == DEGREE_GRANTS:
        _finalise()
    up = _rows(ce_client, base, view, "language", "asc")
    down = _rows(ce_client, base, view, "language", "desc")
    assert [no for no, *_ in up] == LANGUAGE_ASC
    assert [no for no, *_ in down] == LANGUAGE_DESC
    assert [lang for _no, lang, _avg in up][:4] == ["75", "75", "90", "大学英语四级（替代）"]
    assert [lang for _no, lang, _avg in up][4:] == ["", ""]


def test_headers_are_sort_links(applicants, ce_client):
    """Both headers link to their sort, like 学号."""
    page = ce_client.get(DEGREE_AUDIT).get_data(as_text=True)
    assert "_oc_DegreeAuditView=language" in page and "_oc_DegreeAuditView=average" in page


def _finalise() -> None:
    """终审 every application, so that 学位授予管理 lists them (the CE college sees them before 发布)."""
    for a in db.session.query(DegreeApplication):
        a.final_at = dt.datetime(2026, 12, 1, 2, 0)
    db.session.commit()


def test_without_jit_lasts_the_transaction(app_ctx):
    """On PostgreSQL a figure-sorted list turns JIT off for its own transaction only; elsewhere it sends
    nothing to the database."""
    from sqlalchemy import event, text

    from app.services import list_order

    postgres = db.engine.dialect.name == "postgresql"
    before = db.session.execute(text("SHOW jit")).scalar() if postgres else None
    sent = []

    def count(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        list_order.without_jit(db.session)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    if postgres:
        assert sent == ["SET LOCAL jit = off"]
        assert db.session.execute(text("SHOW jit")).scalar() == "off"
        db.session.rollback()
        assert db.session.execute(text("SHOW jit")).scalar() == before
    else:
        assert sent == []
