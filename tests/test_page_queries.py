"""List pages cost the same number of queries whatever rows they show — never one query per row.

At 100,000 students and 50 users a query per row (a student's 专业 or 教学点 loaded lazily) is what
turns a 50 ms page into a slow one under load; it was found on 学位申请审核管理 (20 extra queries a page).
Each extra student here has its own 教学点 and 专业, so a lazy load per row cannot hide in the session.
"""
from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import DegreeApplication
from app.statuses import OrgKind
from tests import factories

PAGES = [
    "/graduation/audit/",
    "/graduation/graduates/",
    "/degree/audit/?batch_id={batch}",
    "/degree/audit/?batch_id={batch}&applied=not_applied",
    "/degree/grants/?batch_id={batch}",
    "/students/list/",
    "/oplog/list/",
]


def add_students(world, batch, n: int, tag: str) -> None:
    """``n`` students, each of a new 教学点 and 专业, graduated; a third applied and pending, a third
    past 终审, a third not applied."""
    for k in range(n):
        site = factories.org(f"教学点{tag}{k}", OrgKind.SITE, world.ce)
        major = factories.major(f"专业{tag}{k}", world.college1)
        s = factories.student(site, major, name=f"学生{k}")
        factories.graduation_result(s, published=True)
        if k % 3 != 2:
            db.session.add(DegreeApplication(batch_id=batch.id, student_id=s.id,
                                             final_at=dt.datetime(2025, 6, 1) if k % 3 else None))
    db.session.commit()


def queries_per_page(client, sql_log, batch) -> dict[str, int]:
    out = {}
    for page in PAGES:
        url = page.format(batch=batch.id)
        assert client.get(url).status_code == 200, url  # warm: first-request caches are not the point
        del sql_log[:]
        assert client.get(url).status_code == 200, url
        out[url] = len(sql_log)
    return out


@pytest.mark.parametrize("role_client", ["ce_client", "college_client"])
def test_list_pages_do_not_query_per_row(world, sql_log, request, role_client):
    client = request.getfixturevalue(role_client)
    batch = factories.degree_batch()
    add_students(world, batch, 3, "甲")
    few = queries_per_page(client, sql_log, batch)
    add_students(world, batch, 12, "乙")
    many = queries_per_page(client, sql_log, batch)
    assert many == few
