"""课程替代 in Chromium (issue 14): a site admin enters a substitution from the audit detail page, the CE admin
approves it in bulk on 课程替代与免修, the re-audit turns the student 预毕业 with the line naming the substitution,
and the 成绩单 of 毕业生档案 shows it.

Works on the 2020级 专升本 students of jxd001's site (the manual walkthrough uses 高起本), so it does not
depend on, nor change, what the walkthrough checks.
"""
from __future__ import annotations

import io
import re
import zipfile

import openpyxl
from playwright.sync_api import expect

from tests.e2e.test_manual_walkthrough import G_NO, G_RESULT, button, cells, dialog_reasons, graduation_query, row_of

LEVEL = "专升本"


def audit_filter(p) -> int:
    """毕业审核 of 2020级 专升本 (the whole filter, after its confirmation), then back to the list."""
    p.menu("毕业相关", "毕业审核管理")
    n = graduation_query(p, "2020级", "2020级", LEVEL, label="专升本_查询")
    flash = p.confirm_click(button(p.page, "毕业审核"), f"将对当前筛选的 {n} 名学生执行毕业审核", "专升本_毕业审核")
    assert "任务已提交" in flash
    p.wait_task("毕业审核任务")
    p.menu("毕业相关", "毕业审核管理")
    return n


def test_substitution_from_entry_to_transcript(person):
    site = person("jxd001")
    site.login("jxd001")
    page = site.page
    audit_filter(site)

    # a 不合格 student whose only problem is one required course (and the credits it leaves missing)
    graduation_query(site, "2020级", "2020级", LEVEL, "不合格", "专升本_不合格")
    target, course = None, None
    for r in cells(page, ".audit-table"):
        reasons = dialog_reasons(page, row_of(page, ".audit-table", r[G_NO]))
        missing = [m for m in reasons if m.startswith("必修课程未通过：")]
        if len(missing) == 1 and all(m in missing or m.startswith("已获总学分") for m in reasons):
            target, course = r[G_NO], re.match(r"必修课程未通过：(.+?)（", missing[0]).group(1)
            break
    assert target, "the demo data has a 专升本 student failing exactly one required course"

    # the audit detail page: the failed course's row links to the entry form
    row_of(page, ".audit-table", target).locator("a[href*='/student/']").first.click()
    page.wait_for_load_state()
    site.shot("审核详情_不合格")
    course_row = page.locator("tr.danger", has=page.locator("td", has_text=course))
    expect(course_row).to_have_count(1)
    course_row.locator("a.exception-entry").click()
    page.wait_for_load_state()
    site.shot("录入课程替代_表单")
    expect(page.locator("#course_code")).to_contain_text(course)
    page.select_option("#kind", label="课程替代")
    substitute = page.locator("#substitute_code option").nth(1)  # the first passed course
    substitute_name = re.match(r"\S+ (.+?)（", substitute.inner_text()).group(1)
    page.select_option("#substitute_code", value=substitute.get_attribute("value"))
    page.fill("#reason", "旧教学计划课程已通过，经教学点核实可替代")
    site.shot("录入课程替代_已填写")
    page.click("#exception-submit")
    page.wait_for_load_state()
    site.shot("录入课程替代_已提交")
    assert f"已录入课程替代：{course}（以 {substitute_name} 替代），待继教院审核" in site.flashes()
    assert "/graduation/audit/student/" in page.url

    # the CE admin ticks it on 课程替代与免修 and approves
    ce = person("jjy001")
    ce.login("jjy001")
    ce.menu("毕业相关", "课程替代与免修")
    listed = ce.page.locator("table tbody tr", has_text=target)
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("待审核")
    listed.locator("input.action_check").check()
    ce.page.locator(".btn-group .dropdown-toggle", has_text="操作").click()
    ce.page.locator("a.approve_menu_item").click()
    ce.page.wait_for_load_state()
    ce.shot("课程替代与免修_审核通过")
    assert "已审核通过 1 条课程替代与免修" in ce.flashes()
    expect(ce.page.locator("table tbody tr", has_text=target)).to_contain_text("已通过")

    # the re-audit: 预毕业, the line names the substitution
    audit_filter(site)
    graduation_query(site, "2020级", "2020级", LEVEL, "预毕业", "专升本_预毕业")
    row = row_of(page, ".audit-table", target)
    expect(row.locator("td").nth(G_RESULT)).to_have_text("预毕业")
    row.locator("a[href*='/student/']").first.click()
    page.wait_for_load_state()
    site.shot("审核详情_预毕业")
    notes = page.locator("#exception-notes .reason-list li").all_inner_texts()
    assert len(notes) == 1 and re.fullmatch(rf"{re.escape(course)}（以 {re.escape(substitute_name)} 替代，"
                                            r"\d{4}-\d{2}-\d{2} 批准）", notes[0]), notes
    expect(page.locator("tr", has=page.locator("td", has_text=course)).first).to_contain_text("替代")

    # 毕业生档案管理 (毕业状态 全部): the 成绩单 names the substitution
    site.menu("毕业相关", "毕业生档案管理")
    page.select_option("#f-graduated", label="全部")
    graduation_query(site, "2020级", "2020级", LEVEL, label="档案_专升本")
    row_of(page, "#archive-export table", target).locator("input[name=rowid]").check()
    for doc in ("学籍卡", "毕业生登记表"):
        page.get_by_label(doc).uncheck()
    button(page, "导出").click()
    page.wait_for_load_state()
    assert "导出任务已提交" in site.flashes()
    task = site.wait_task("毕业生档案导出")
    with page.expect_download() as info:
        task["row"].get_by_role("link", name="下载").click()
    with zipfile.ZipFile(info.value.path()) as zf:
        [name] = [n for n in zf.namelist() if n.endswith("_成绩单.xlsx")]
        ws = openpyxl.load_workbook(io.BytesIO(zf.read(name))).worksheets[0]
    text = [str(c) for r in ws.iter_rows(values_only=True) for c in r if c is not None]
    assert "课程替代 / 免修 / 学分认定" in text
    assert any(t.startswith(f"{course}（以 {substitute_name} 替代，") for t in text), text
    assert "课程替代" in text
