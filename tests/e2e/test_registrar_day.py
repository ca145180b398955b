"""Issue 16 in Chromium at a registrar's screen (1366 × 768): the navbar of every role on one line, 任务中心's
headers and full progress bars, "选择全部 N 条符合筛选条件的学生" on 毕业审核管理, the 确认状态 filter and 学生空间's
one status line. Screenshots under tests/e2e/artifacts/ (``Person.shot``).
"""
from __future__ import annotations

import re

import pytest

LAPTOP = {"width": 1366, "height": 768}
ROLES = {"jjy001": False, "xy001": False, "jxd001": False, "2020010001": True}


def at_1366(person, name: str, username: str, student: bool = False):
    p = person(name)
    p.page.set_viewport_size(LAPTOP)
    p.login(username, student=student)
    return p


def navbar_rows(page) -> dict:
    """The navbar's height and the tops of its top-level items (menus, language, user menu)."""
    return page.evaluate("""() => {
      const nav = document.querySelector('.navbar');
      const items = Array.from(document.querySelectorAll('.navbar-nav > li')).filter(li => li.offsetParent);
      const brand = document.querySelector('.navbar-brand');
      const user = document.querySelector('#user-menu');
      return {height: nav.getBoundingClientRect().height,
              brand: brand ? brand.getBoundingClientRect().height : 0,
              tops: items.map(li => Math.round(li.getBoundingClientRect().top)),
              texts: items.map(li => li.innerText.trim()),
              user: user ? user.getBoundingClientRect().top : null};
    }""")


@pytest.mark.parametrize("username", list(ROLES))
def test_navbar_fits_one_line_at_1366(person, username):
    """Every role's navbar, user menu included, is one row at 1366 px (it wrapped to a second row)."""
    p = at_1366(person, f"navbar_{username}", username, ROLES[username])
    p.goto("/space/" if ROLES[username] else "/tasks/", f"导航栏_{username}_1366")
    nav = navbar_rows(p.page)
    assert nav["user"] is not None, nav
    assert len(set(nav["tops"])) == 1, f"{username}: navbar items on several rows {nav}"
    assert nav["height"] <= 60, f"{username}: navbar is {nav['height']} px high {nav}"


def test_task_center_headers_and_finished_bars_at_1366(person):
    """任务中心 at 1366 px: every column header on one line; a finished task's bar fills its track."""
    p = at_1366(person, "tasks_1366", "jxd001")
    p.menu("毕业相关", "毕业审核管理")
    p.confirm_click(p.page.locator("button[name=action][value=sync]"), "将对当前筛选的", "同步课程数据")
    task = p.wait_task("同步课程数据")
    p.page.set_viewport_size(LAPTOP)
    p.shot("任务中心_1366")
    heads = p.page.eval_on_selector_all(
        "#task-table thead th",
        "ths => ths.map(th => ({text: th.innerText.trim(), h: th.getBoundingClientRect().height,"
        " w: th.getBoundingClientRect().width}))")
    lowest = min(h["h"] for h in heads)
    tall = [h for h in heads if h["h"] > lowest + 2]
    assert not tall, f"headers broken over lines: {tall} (one line is {lowest} px)"
    bar = task["row"].locator(".task-bar").bounding_box()
    track = task["row"].locator(".progress").bounding_box()
    assert bar and track and abs(bar["width"] - track["width"]) <= 1, (bar, track)


def test_select_all_of_the_filter_and_the_confirm_state_filter(person):
    """全选 ticks the page; "选择全部 N 条符合筛选条件的学生" then makes 导出 cover every page (N: the page's count);
    the 确认状态 filter stays in the URL."""
    p = at_1366(person, "select_all", "jxd001")
    p.menu("毕业相关", "毕业审核管理")
    page = p.page
    page.select_option("#f-confirm_state", label="未确认")
    page.locator("button", has_text="查询").click()
    page.wait_for_load_state()
    assert "_flt_0_confirm_state=unconfirmed" in page.url
    expected = int(re.search(r"共\s*(\d+)\s*条", page.inner_text("body")).group(1))
    on_page = page.locator("#audit-form input[name=rowid]").count()
    assert expected > on_page > 0, (expected, on_page)
    bar = page.locator("[data-select-all-bar]")
    assert not bar.is_visible()
    page.locator("#audit-form input[data-check-all]").check()
    assert page.locator("#audit-form input[name=rowid]:checked").count() == on_page
    assert bar.is_visible()
    p.shot("全选本页")
    link = page.locator("#select-all-filter")
    assert link.inner_text().strip() == f"选择全部 {expected} 条符合筛选条件的学生"
    link.click()
    assert bar.inner_text().strip().startswith(f"已选择全部 {expected} 条符合筛选条件的学生")
    p.shot("选择全部")
    flash = p.confirm_click(page.locator("button[name=action][value=export]"), f"将对当前筛选的 {expected} 名学生",
                            "选择全部_导出")
    assert "导出任务已提交" in flash, flash
    assert "_flt_0_confirm_state=unconfirmed" in page.url  # back on the same filtered list
    task = p.wait_task("列表导出")
    scope = task["row"].locator("td").nth(2).inner_text()
    assert "已勾选" not in scope and "确认状态 未确认" in scope, scope
    assert task["progress"] == f"{expected}/{expected}", task["progress"]


def test_student_space_one_status_line(person):
    """学生空间: one 毕业状态 line; 申请学位 only with a sentence to the student when it cannot be pressed."""
    p = at_1366(person, "student_space", "2020010001", True)
    p.goto("/space/", "学生空间_1366")
    status = p.page.locator("#graduation-status").inner_text()
    assert status.startswith("毕业状态：") and "确认状态" not in status, status
    section = p.page.locator("#degree-section")
    if not section.locator("#btn-apply-degree").count() and "已申请" not in section.inner_text():
        why = section.locator("#degree-why-not").inner_text()
        assert why.startswith(("你的", "学位申请时间为", "当前没有你")) and "不能申请学位" in why, why


def test_form_review_with_nothing_ticked_stays_on_the_list(person):
    """毕业生登记表 审核通过 with nothing ticked: the server's count confirmation, then back on the list with the
    message (FAB's list only said "No row selected")."""
    p = at_1366(person, "form_review", "jxd001")
    p.menu("学籍管理", "毕业生登记表")
    page = p.page
    assert page.locator("input.action_check:checked").count() == 0
    page.locator(".btn-group:has(a.review_form_menu_item) .dropdown-toggle").click()
    page.locator("a.review_form_menu_item").click()
    page.wait_for_load_state()
    message = page.locator("#bulk-confirm-message").inner_text()
    assert re.match(r"将对当前筛选的 \d+ 名学生审核通过，确定吗？", message), message
    p.shot("登记表_审核通过_确认")
    page.locator(".bulk-confirm button[type=submit]").click()
    page.wait_for_load_state()
    assert "/graduate_forms/list/" in page.url, page.url
    assert "已审核" in p.flashes(), p.flashes()
    p.shot("登记表_审核通过_完成")
