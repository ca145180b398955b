"""学位申请审核管理 and 学位授予管理 as a registrar uses them in Chromium (issues 13 and 16).

The two lists are FAB ModelViews: the menu shows the manual's group header 学位审核及授予, a column header
sorts, the page size (20/50/100/200) is a choice, and all of it stays in the URL (a bookmark opens the same
page). A nothing-ticked action first states the server's count; a ticked 初审 signs just that row; 导出审批表
lands in 任务中心. Runs on the demo data on its own or after the manual walk-through (which it does not disturb:
a re-audit keeps every result, the 初审 is of a row nobody reviewed). Screenshots in tests/e2e/artifacts/.
"""
from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlparse

from PIL import Image
from playwright.sync_api import expect

from tests.e2e.test_manual_walkthrough import D_NO, D_RESULT, D_REVIEW, button, cells, row_of, total


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (240, 80), "white").save(out, "PNG")
    return out.getvalue()


def _numbers(page) -> list[str]:
    return [r[D_NO] for r in cells(page, "#degree-table")]


def _args(page) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def _unreviewed_met(p) -> list[list[str]]:
    """学位申请条件是否达标 已达标, 查询: the rows of the first page without 初审."""
    p.page.select_option("#f-result", label="已达标")
    button(p.page, "查询").click()
    p.page.wait_for_load_state()
    return [r for r in cells(p.page, "#degree-table") if r[D_RESULT] == "已达标" and "未初审" in r[D_REVIEW]]


def test_degree_list_sorts_and_pages_in_the_url(person):
    """jjy001 (every site's applications): the group header; 学号 sorted both ways, 每页 50 条 and page 2 in the
    URL; the bookmarked URL opens the same rows."""
    p = person("jjy001")
    p.login("jjy001")
    page = p.page

    # 学位管理 → 学位审核及授予 (a group header, not a link) → 学位申请审核管理
    page.locator(".navbar .dropdown-toggle", has_text="学位管理").click()
    header = page.locator(".navbar .dropdown-menu .dropdown-header", has_text="学位审核及授予")
    expect(header).to_be_visible()
    assert header.locator("a").count() == 0
    p.shot("学位管理菜单_分组标题")
    page.locator(".navbar a", has_text=re.compile(r"^\s*学位申请审核管理\s*$")).click()
    page.wait_for_load_state()
    p.shot("学位申请审核管理")
    count = total(page)
    assert count > 50, "the demo has more than 50 applications not yet 终审"
    assert len(_numbers(page)) == 20  # FAB's page of 20

    # sort by 学号: ascending, then descending; kept in the URL
    page.locator("#degree-table th a", has_text="学号").click()
    page.wait_for_load_state()
    assert _args(page).get("_oc_DegreeAuditView") == "student.student_no"
    ascending = _numbers(page)
    assert ascending == sorted(ascending)
    page.locator("#degree-table th a", has_text="学号").click()
    page.wait_for_load_state()
    p.shot("学号降序")
    descending = _numbers(page)
    assert _args(page).get("_od_DegreeAuditView") == "desc" and descending == sorted(descending, reverse=True)
    assert descending[0] > ascending[-1]

    # page size 50 from the choice under the table, then the second page; a bookmark opens the same rows
    page.locator("#page-size .dropdown-toggle").click()
    page.locator("#page-size a", has_text="每页 50 条").click()
    page.wait_for_load_state()
    assert _args(page).get("psize_DegreeAuditView") == "50" and _args(page).get("_od_DegreeAuditView") == "desc"
    assert len(_numbers(page)) == 50
    p.shot("每页50条")
    page.locator(".pager-bar .pagination a", has_text=re.compile(r"^\s*2\s*$")).first.click()
    page.wait_for_load_state()
    assert _args(page).get("page_DegreeAuditView") == "1"
    second = _numbers(page)
    assert second and second == sorted(second, reverse=True)
    bookmark = page.url
    page.goto(p.base + "/")
    page.goto(bookmark)
    assert _numbers(page) == second
    p.shot("书签打开第2页")


def test_degree_list_actions(person):
    """jxd001: 学位条件审核 with nothing ticked asks with the server's count; a ticked 初审 signs that row only;
    导出审批表 of the ticked row lands in 任务中心."""
    p = person("jxd001")
    p.login("jxd001")
    page = p.page

    # 学位条件审核 with nothing ticked: the browser's confirmation states the server's count of the filter
    page.goto(p.base + "/degree/audit/")
    n = total(page)
    flash = p.confirm_click(page.locator("#btn-audit"), f"将对当前筛选的 {n} 条学位申请执行学位条件审核",
                            "学位条件审核_确认人数")
    assert "已提交学位条件审核任务" in flash, flash
    task = p.wait_task("学位条件审核任务")
    assert task["progress"] == f"{n}/{n}", task

    # a signature for the 初审 (a new version if the walk-through uploaded one)
    p.menu("学位管理", "电子签名")
    page.set_input_files("input[name=signature]", files=[{"name": "签名.png", "mimeType": "image/png",
                                                          "buffer": _png()}])
    button(page, "上传").click()
    page.wait_for_load_state()
    assert "电子签名已上传" in p.flashes()

    # 已达标, a row nobody has reviewed yet: tick it, 初审 同意. Without one (the demo alone has no graduates yet),
    # first 修改授予结论 of a ticked 未达标 row (a hand change: ticks required)
    p.menu("学位管理", "学位申请审核管理")
    rows = _unreviewed_met(p)
    if not rows:
        page.select_option("#f-result", label="未达标")
        button(page, "查询").click()
        page.wait_for_load_state()
        first = cells(page, "#degree-table")[0][D_NO]
        row_of(page, "#degree-table", first).locator("input[name=rowid]").check()
        button(page, "修改授予结论").click()
        panel = page.locator("#panel-override")
        panel.locator("select[name=override_result]").select_option(label="已达标")
        panel.locator("input[name=override_reason]").fill("经线下核实，条件已满足")
        button(panel, "确认修改").click()
        page.wait_for_load_state()
        assert "已修改 1 名学生的授予结论" in p.flashes(), p.flashes()
        rows = _unreviewed_met(p)
    assert rows, "an 已达标 application without 初审 on the first page"
    target = rows[0][D_NO]
    row_of(page, "#degree-table", target).locator("input[name=rowid]").check()
    button(page, "初审").click()
    panel = page.locator("#panel-review")
    expect(panel).to_be_visible()
    panel.locator("input[name=review_comment]").fill("勾选一名学生初审")
    p.shot("勾选初审_填写")
    button(panel, "签名并提交初审").click()
    page.wait_for_load_state()
    p.shot("勾选初审_完成")
    assert "初审完成：1 名学生" in p.flashes(), p.flashes()
    cell = row_of(page, "#degree-table", target).locator("td").nth(D_REVIEW)
    expect(cell).to_contain_text("勾选一名学生初审")
    assert cell.locator("img.signature-img").evaluate("i => i.complete && i.naturalWidth") == 240
    others = [r for r in cells(page, "#degree-table") if r[D_NO] != target and r[D_NO] in {x[D_NO] for x in rows}]
    assert all("未初审" in r[D_REVIEW] for r in others)  # only the ticked row was signed

    # 导出审批表 of that ticked row: no count question (ticked), the task in 任务中心
    row_of(page, "#degree-table", target).locator("input[name=rowid]").check()
    page.locator("#btn-approval_forms").click()
    page.wait_for_load_state()
    assert "导出任务已提交" in p.flashes(), p.flashes()
    task = p.wait_task("学士学位申请审批表导出")
    assert task["progress"] == "1/1", task


def test_grant_list_pending_tab_for_the_ce_college(person):
    """jjy001: 学位授予管理 has the 待发布 tab with 发布; sorting by 学号 works there too."""
    p = person("jjy001")
    p.login("jjy001")
    page = p.page
    p.menu("学位管理", "学位授予管理")
    expect(page.locator("#degree-breadcrumb")).to_have_text("学位管理 / 学位审核及授予 / 学位授予管理")
    page.locator("#grant-tabs a", has_text="待发布").click()
    page.wait_for_load_state()
    p.shot("学位授予管理_待发布")
    assert _args(page).get("_flt_0_published") == "no"
    expect(page.locator("#grant-tabs li.active")).to_have_text("待发布")
    expect(page.locator("#btn-publish")).to_be_visible()
    assert all(r[11] == "未发布" for r in cells(page, "#degree-table"))
    page.locator("#grant-tabs a", has_text="全部").click()
    page.wait_for_load_state()
    page.locator("#degree-table th a", has_text="学号").click()
    page.wait_for_load_state()
    numbers = _numbers(page)
    assert numbers == sorted(numbers) and _args(page).get("_oc_DegreeGrantView") == "student.student_no"
    p.shot("学位授予管理_学号排序")
