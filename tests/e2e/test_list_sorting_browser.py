"""Issue 16 in Chromium: a registrar sorts a workflow list by a column header (专业 by the names shown), picks a
page size, and the bookmarked URL opens the same filtered, sorted page. Read-only on the demo data, so it runs
alone or after the other browser tests. Screenshots under tests/e2e/artifacts/.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.e2e.test_manual_walkthrough import D_MAJOR, G_MAJOR, cells, total

LAPTOP = {"width": 1366, "height": 768}


def _args(page) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def _click_header(p, table: str, text: str, label: str) -> None:
    p.page.locator(f"{table} thead th.sortable a", has_text=text).click()
    p.page.wait_for_load_state()
    p.shot(label)


def _page_size(p, n: int) -> None:
    p.page.locator("#page-size .dropdown-toggle").click()
    p.page.locator("#page-size a", has_text=f"每页 {n} 条").click()
    p.page.wait_for_load_state()
    p.shot(f"每页{n}条")


def test_audit_list_sorts_by_major_pages_and_bookmarks(person):
    """毕业审核管理 (jjy001, 层次 高起本): 专业 header → rows in 专业 name order, ``_oc_`` in the URL; again → reversed;
    每页 50 条 → ``psize_`` in the URL and 50 rows; the URL reloaded → same sort, same size, same filter."""
    p = person("audit_sort")
    p.page.set_viewport_size(LAPTOP)
    p.login("jjy001")
    p.menu("毕业相关", "毕业审核管理")
    page = p.page
    page.select_option("#f-level", label="高起本")
    page.locator("button", has_text="查询").click()
    page.wait_for_load_state()
    assert _args(page).get("_flt_0_level") == "gqb"
    count = total(page)
    assert count > 50, count

    _click_header(p, ".audit-table", "专业", "按专业升序")
    args = _args(page)
    assert args.get("_oc_GraduationAuditView") == "major" and args.get("_od_GraduationAuditView") == "asc", args
    assert args.get("_flt_0_level") == "gqb"  # the filter stays
    ascending = [r[G_MAJOR] for r in cells(page, ".audit-table")]
    assert ascending == sorted(ascending), ascending
    assert page.locator(".audit-table th[aria-sort=ascending]", has_text="专业").count() == 1

    _click_header(p, ".audit-table", "专业", "按专业降序")
    assert _args(page).get("_od_GraduationAuditView") == "desc"
    descending = [r[G_MAJOR] for r in cells(page, ".audit-table")]
    assert descending == sorted(descending, reverse=True), descending
    assert descending[0] > ascending[0], "more than one 专业 among 高起本 students: the order must show"

    _page_size(p, 50)
    args = _args(page)
    assert args.get("psize_GraduationAuditView") == "50" and args.get("_oc_GraduationAuditView") == "major", args
    rows = cells(page, ".audit-table")
    assert len(rows) == 50
    majors = [r[G_MAJOR] for r in rows]
    assert majors == sorted(majors, reverse=True)

    bookmark = page.url
    numbers = [r[1] for r in rows]
    page.goto(bookmark)
    page.reload()
    page.wait_for_load_state()
    p.shot("书签重新打开")
    assert _args(page) == args
    assert [r[1] for r in cells(page, ".audit-table")] == numbers  # same rows, same order
    assert page.locator("#f-level").input_value() == "gqb" and total(page) == count
    assert "每页 50 条" in page.locator("#page-size .dropdown-toggle").inner_text()


def test_degree_list_sorts_by_major_name_with_page_size(person):
    """学位申请审核管理 (jjy001): 专业 sorts by the name shown (it sorted by the id), 每页 50 条 keeps the sort, and the
    bookmarked URL opens the same rows."""
    p = person("degree_sort")
    p.page.set_viewport_size(LAPTOP)
    p.login("jjy001")
    p.goto("/degree/audit/", "学位申请审核管理")
    page = p.page
    _click_header(p, "#degree-table", "专业", "学位_按专业升序")
    args = _args(page)
    assert args.get("_oc_DegreeAuditView") == "student.major_id" and args.get("_od_DegreeAuditView") == "asc"
    _page_size(p, 50)
    args = _args(page)
    assert args.get("psize_DegreeAuditView") == "50" and args.get("_oc_DegreeAuditView") == "student.major_id"
    rows = cells(page, "#degree-table")
    assert len(rows) == 50
    majors = [r[D_MAJOR] for r in rows]
    assert majors == sorted(majors), majors
    _click_header(p, "#degree-table", "专业", "学位_按专业降序")
    descending = [r[D_MAJOR] for r in cells(page, "#degree-table")]
    assert descending == sorted(descending, reverse=True) and descending[0] > majors[0], descending
    assert _args(page).get("psize_DegreeAuditView") == "50"
    bookmark, numbers = page.url, [r[1] for r in cells(page, "#degree-table")]
    page.goto(bookmark)
    page.wait_for_load_state()
    p.shot("学位_书签重新打开")
    assert [r[1] for r in cells(page, "#degree-table")] == numbers
