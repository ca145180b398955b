"""The workflow lists offer 每页 20 / 50 / 100 / 200 条 (issue 16), kept in the URL, and honour 200 —
the other lists keep their limit of 100."""
from __future__ import annotations

import re

import pytest

from tests import factories

LISTS = {  # list → its FAB view name (the psize_<View> argument)
    "/graduation/audit/": "GraduationAuditView",
    "/graduation/graduates/": "GraduateListView",
    "/graduation/archive/": "GraduateArchiveView",
    "/tasks/": "TaskView",
    "/degree/audit/": "DegreeAuditView",
}


@pytest.mark.parametrize("path,view", list(LISTS.items()))
def test_every_workflow_list_offers_the_page_sizes(world, ce_client, path, view):
    page = ce_client.get(f"{path}?psize_{view}=200").get_data(as_text=True)
    assert re.findall(r"每页 (\d+) 条</a>", page) == ["20", "50", "100", "200"], path
    assert f"psize_{view}=200" in page
    assert re.search(r'data-toggle="dropdown">每页 200 条', page), path  # 200 is honoured, not clamped to 100


def test_two_hundred_rows_on_one_page(world, ce_client):
    """150 students of one site: with 每页 200 条 毕业审核管理 shows them all on one page; the default is 20."""
    for n in range(150):
        factories.student(world.site1, world.major1, no=f"2020019{n:03d}", name=f"学生{n}")
    from app.extensions import db

    db.session.commit()
    rows = lambda html: set(re.findall(r">(2020019\d{3})<", html))  # noqa: E731
    url = "/graduation/audit/?_flt_0_q=学生&psize_GraduationAuditView="
    assert len(rows(ce_client.get(url + "200").get_data(as_text=True))) == 150
    assert len(rows(ce_client.get(url + "20").get_data(as_text=True))) == 20
