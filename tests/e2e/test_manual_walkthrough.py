"""The user manual (毕业审核, 学位审核), clicked through in Chromium by every role, in the manual's order.

The scenarios share one live server and build on each other: jxd001's confirmation is what jjy001
publishes, the published graduates are what jxd001 exports, the student's application is what the
degree audit checks, and so on. pytest runs them in file order; ``STATE`` carries what a later
scenario needs (student numbers, record ids, counts). Every page visited is screenshotted under
tests/e2e/artifacts/ and checked for English leftovers (see ``Person.shot``).
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

DEMO_STUDENT = "2020010001"
JXD001_SITE = "南通教学点"
MANAGEMENT_MAJORS = {"工商管理", "会计学", "人力资源管理"}  # 管理学院, xy001's college
TASK_SUBMITTED = "任务已提交"
DOCUMENTS = ("学籍卡", "成绩单", "毕业生登记表")
STATE: dict = {}

# Columns of the 毕业审核管理 table (after the tick box).
G_NO, G_NAME, G_ENROL, G_STUDY, G_LEVEL, G_MAJOR, G_SITE, G_PASSED, G_CREDITS, G_SYNCED, G_RESULT, G_OVERRIDE, \
    G_CONFIRM = range(1, 14)
# Columns of the 学位申请审核管理 table (mode 已申请).
D_NO, D_NAME, D_GRADE, D_LEVEL, D_MAJOR, D_SITE, D_LANGUAGE, D_AVERAGE, D_RESULT, D_OVERRIDE, D_REVIEW, D_APPLIED, \
    D_FINAL = range(1, 14)


def this_year() -> int:
    """The diploma/degree year of the demo batches: the current year in Asia/Shanghai."""
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).year


# --------------------------------------------------------------------------- page helpers


def cells(page, table: str) -> list[list[str]]:
    """The visible text of every cell of a table's body rows (empty-table rows excluded)."""
    rows = page.eval_on_selector_all(
        f"{table} tbody tr",
        "trs => trs.map(tr => Array.from(tr.cells).map(td => td.innerText.trim()))",
    )
    return [r for r in rows if len(r) > 2]


def total(page) -> int:
    """The count a list page shows ("共 N 条")."""
    match = re.search(r"共\s*(\d+)\s*条", page.inner_text("body"))
    assert match, "the page shows no 共 N 条 count"
    return int(match.group(1))


def graduation_query(p, enrol: str, study: str, level: str, result: str = "全部", label: str = "查询") -> int:
    """Choose the filter of 毕业审核管理 / 毕业生列表 / 毕业生档案管理 as a person would, click 查询."""
    page = p.page
    page.select_option("#f-enrol_grade", label=enrol)
    page.select_option("#f-study_grade", label=study)
    page.select_option("#f-level", label=level)
    if page.locator("#f-result").count():
        page.select_option("#f-result", label=result)
    button(page, "查询").click()
    page.wait_for_load_state()
    p.shot(label)
    return total(page)


def degree_query(p, result: str = "全部", label: str = "查询") -> int:
    """学位申请审核管理's filter: 学生申请状态 已申请, 学位申请条件是否达标 as given; 查询."""
    page = p.page
    page.select_option("#degree-filter select[name=applied]", label="已申请")
    page.select_option("#f-result", label=result)
    button(page, "查询").click()
    page.wait_for_load_state()
    p.shot(label)
    return total(page)


def button(scope, text: str):
    """The button whose own text is exactly ``text`` (icons aside), within a page or a locator."""
    return scope.locator("button", has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))


def row_of(page, table: str, student_no: str):
    """The table row of one student (by 学号)."""
    return page.locator(f"{table} tbody tr", has=page.locator("td", has_text=re.compile(f"^{student_no}$")))


def dialog_reasons(page, row) -> list[str]:
    """The reasons inside a row's 不合格 dialog (rendered with the page, shown on click)."""
    modal = row.locator("a.result-failed").get_attribute("data-target")
    return page.locator(f"{modal} .reason-list li").all_text_contents()


def back_and_query(p, label: str) -> None:
    """After 任务中心: back to the list page and 查询 again, as the manual says."""
    p.page.go_back()
    p.page.wait_for_load_state()
    button(p.page, "查询").click()
    p.page.wait_for_load_state()
    p.shot(label)


# --------------------------------------------------------------------------- 毕业审核


def test_1_site_admin_audits_graduation(person):
    """jxd001 (manual §2): filter, 同步课程数据, 毕业审核, reasons, 修改毕业审核结果, 一键确认毕业; a closed
    batch refuses."""
    p = person("jxd001")
    p.login("jxd001")
    page = p.page
    p.menu("毕业相关", "毕业审核管理")
    expect(page.locator("h3").first).to_have_text("毕业审核管理")

    # 2. 学籍年级 / 学习年级 2020级, 层次 高起本, 查询: the students to audit, all of jxd001's site, not yet audited
    n = graduation_query(p, "2020级", "2020级", "高起本")
    assert n >= 20, n
    rows = cells(page, ".audit-table")
    assert rows and all(r[G_ENROL] == "2020" and r[G_STUDY] == "2020" and r[G_LEVEL] == "高起本"
                        and r[G_SITE] == JXD001_SITE for r in rows)
    assert {r[G_RESULT] for r in rows} == {"未审核"} and {r[G_CONFIRM] for r in rows} == {"未确认"}
    demo = next(r for r in rows if r[G_NO] == DEMO_STUDENT)
    assert demo[G_PASSED] == "0" and demo[G_SYNCED] == "", "course data is synced before 同步课程数据"
    STATE["jxd001_student_ids"] = [int(re.search(r"/student/(\d+)", h).group(1)) for h in page.eval_on_selector_all(
        ".audit-table tbody a[href*='/student/']", "as => as.map(a => a.getAttribute('href'))")]
    STATE["jxd001_student_nos"] = [r[G_NO] for r in rows]

    # 3. 同步课程数据 → a task; 任务中心 shows it 处理成功; 查询 shows the synced figures
    # nothing ticked: the whole filter, after the confirmation that states its count (app/views/bulk.py)
    flash = p.confirm_click(button(page, "同步课程数据"), f"将对当前筛选的 {n} 名学生同步课程数据",
                            "同步课程数据_已提交")
    assert TASK_SUBMITTED in flash
    sync = p.wait_task("同步课程数据任务")
    assert sync["progress"] == f"{n}/{n}", sync
    back_and_query(p, "同步后查询")
    demo = next(r for r in cells(page, ".audit-table") if r[G_NO] == DEMO_STUDENT)
    assert int(demo[G_PASSED]) > 10 and float(demo[G_CREDITS]) > 50 and demo[G_SYNCED]

    # 4. 毕业审核: a confirmation dialog, then the job; 任务中心 until 处理成功 with the counts
    flash = p.confirm_click(button(page, "毕业审核"), f"将对当前筛选的 {n} 名学生执行毕业审核，确定吗？",
                            "毕业审核_已提交")
    assert TASK_SUBMITTED in flash
    audit = p.wait_task("毕业审核任务")
    assert audit["progress"] == f"{n}/{n}", audit
    assert "预毕业" in audit["summary"] and "不合格" in audit["summary"], audit["summary"]
    STATE["jxd001_task_id"] = audit["id"]
    back_and_query(p, "审核后查询")
    results = {r[G_RESULT] for r in cells(page, ".audit-table")}
    assert results <= {"预毕业", "不合格"} and "预毕业" in results, results

    # 6. 不合格: click it and read every reason
    failed = graduation_query(p, "2020级", "2020级", "高起本", "不合格", "筛选不合格")
    assert failed >= 1
    rows = cells(page, ".audit-table")
    assert {r[G_RESULT] for r in rows} == {"不合格"}
    # a student who failed on courses or credits (not on 学籍状态), as the manual's offline check implies
    target = next(r for r in rows
                  if re.search("课程|学分", " ".join(dialog_reasons(page, row_of(page, ".audit-table", r[G_NO])))))
    row = row_of(page, ".audit-table", target[G_NO])
    row.locator("a.result-failed").click()
    dialog = page.locator(".modal.in")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".modal-title")).to_contain_text(f"不合格原因：{target[G_NO]}")
    reasons = dialog.locator(".reason-list li").all_inner_texts()
    assert reasons, "a 不合格 without reasons"
    assert all(re.search(r"课程|学分|登记表|照片|学籍|教学计划", r) for r in reasons), reasons
    p.shot("不合格原因")
    button(dialog, "关闭").click()
    expect(dialog).to_be_hidden()

    # 修改毕业审核结果 of that row, with a 核实说明: 预毕业, marked as hand-set
    button(row, "修改毕业审核结果").click()
    dialog = page.locator(".modal.in")
    expect(dialog.locator(".modal-title")).to_contain_text(f"修改毕业审核结果：{target[G_NO]}")
    dialog.locator("select[name=override_result]").select_option(label="预毕业")
    dialog.locator("textarea[name=reason]").fill("经线下核实，补考成绩与毕业照片已补齐")
    p.shot("修改毕业审核结果_对话框")
    button(dialog, "保存").click()
    page.wait_for_load_state()
    p.shot("修改毕业审核结果_已保存")
    assert "已修改 1 名学生的毕业审核结果" in p.flashes()
    assert total(page) == failed - 1 and not row_of(page, ".audit-table", target[G_NO]).count()

    # 7. 毕业审核结果 预毕业, 查询, 一键确认毕业: the whole list goes to the CE college
    pre = graduation_query(p, "2020级", "2020级", "高起本", "预毕业", "筛选预毕业")
    rows = cells(page, ".audit-table")
    assert {r[G_RESULT] for r in rows} == {"预毕业"} and {r[G_CONFIRM] for r in rows} == {"未确认"}
    assert row_of(page, ".audit-table", DEMO_STUDENT).count() == 1
    overridden = row_of(page, ".audit-table", target[G_NO])
    expect(overridden.locator("td").nth(G_OVERRIDE)).to_have_text("是")
    flash = p.confirm_click(button(page, "一键确认毕业"), "一键确认毕业", "一键确认毕业_完成")
    assert f"已确认毕业 {pre} 名学生" in flash, flash
    assert {r[G_CONFIRM] for r in cells(page, ".audit-table")} == {"已确认"}
    STATE["confirmed"] = pre

    # the 2019级 batch's window (2024-11-25 – 2024-12-06) is closed: audit, then 一键确认毕业 is refused
    closed = graduation_query(p, "2019级", "2019级", "高起本", label="已截止批次_查询")
    assert closed >= 1
    p.confirm_click(button(page, "毕业审核"), "毕业审核", "已截止批次_毕业审核")
    p.wait_task("毕业审核任务")
    back_and_query(p, "已截止批次_审核后")
    pre_2019 = graduation_query(p, "2019级", "2019级", "高起本", "预毕业", "已截止批次_预毕业")
    assert pre_2019 >= 1, "the closed batch needs a 预毕业 student to show the refusal"
    flash = p.confirm_click(button(page, "一键确认毕业"), "一键确认毕业", "已截止批次_拒绝")
    assert "不在确认毕业时间内（2024-11-25 00:00:00 至 2024-12-06 00:00:00）" in flash, flash
    assert {r[G_CONFIRM] for r in cells(page, ".audit-table")} == {"未确认"}


def test_2_ce_admin_publishes_graduates(person):
    """jjy001: 发布 the confirmed students; 毕业生列表 shows them 已毕业 with 18-digit 毕业证书编号."""
    p = person("jjy001")
    p.login("jjy001")
    page = p.page
    p.menu("毕业相关", "毕业审核管理")
    graduation_query(p, "2020级", "2020级", "高起本")
    flash = p.confirm_click(button(page, "发布"), "发布", "发布_已提交")
    assert TASK_SUBMITTED in flash
    p.wait_task("毕业发布任务")

    p.menu("毕业相关", "毕业生列表")
    n = graduation_query(p, "2020级", "2020级", "高起本", label="毕业生列表_查询")
    assert n == STATE["confirmed"], (n, STATE["confirmed"])
    rows = [r[1:] for r in cells(page, ".audit-table")]  # after the tick box (导出 is a FAB action of the list)
    numbers = [r[7] for r in rows]
    pattern = re.compile(rf"^\d{{5}}5{this_year()}05\d{{6}}$")
    assert all(pattern.match(no) for no in numbers), numbers
    assert len(set(numbers)) == len(numbers)
    assert {r[9] for r in rows} == {"已毕业"} and all(r[8] for r in rows)
    assert any(r[0] == DEMO_STUDENT for r in rows)


def test_3_site_admin_exports_archives(person):
    """jxd001: 毕业生档案管理, tick three graduates, 导出 学籍卡/成绩单/毕业生登记表; the zip holds nine
    学号_姓名_文档.xlsx and the 学士学位申请审批表 of those who applied for a degree."""
    p = person("jxd001")
    p.login("jxd001")
    page = p.page
    p.menu("毕业相关", "毕业生档案管理")
    n = graduation_query(p, "2020级", "2020级", "高起本", label="档案_查询")
    assert n == STATE["confirmed"]
    rows = cells(page, "#archive-export table")
    assert all(r[6] == "毕业" and r[7] for r in rows), rows
    ticked = rows[:3]
    for r in ticked:
        row_of(page, "#archive-export table", r[1]).locator("input[name=rowid]").check()  # FAB's tick box
    for doc in DOCUMENTS:
        expect(page.get_by_label(doc)).to_be_checked()
    p.shot("档案_勾选三名学生")
    button(page, "导出").click()
    page.wait_for_load_state()
    p.shot("档案_已提交")
    assert "导出任务已提交" in p.flashes()
    task = p.wait_task("毕业生档案导出")
    with page.expect_download() as info:
        task["row"].get_by_role("link", name="下载").click()
    download = info.value
    assert download.suggested_filename.startswith("毕业生档案_") and download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as zf:
        names = sorted(zf.namelist())
        assert zf.testzip() is None
    expected = sorted(f"{r[1]}_{r[2]}_{doc}.xlsx" for r in ticked for doc in DOCUMENTS)
    forms = [n for n in names if n.endswith("_学士学位申请审批表.xlsx")]  # applicants' 审批表 (issue 16)
    assert [n for n in names if n not in forms] == expected, names
    assert all(any(n.startswith(f"{r[1]}_{r[2]}_") for r in ticked) for n in forms), forms


# --------------------------------------------------------------------------- 学位审核


def test_4_student_applies_for_degree(person):
    """Student 2020010001 (预毕业, now 已毕业) sees 毕业状态 已毕业 in 学生空间 and applies for the degree."""
    p = person("student")
    p.login(DEMO_STUDENT, student=True)
    page = p.page
    expect(page.locator("h2")).to_have_text("学生空间")
    grad = page.locator("#graduation").inner_text()
    # one state (issue 16): 已毕业, not "毕业审核结果：预毕业 · 确认状态：已毕业"
    assert "毕业状态：已毕业" in grad and "确认状态" not in grad and re.search(r"毕业证书编号：\d{18}", grad), grad
    degree = page.locator("#degree-section")
    expect(degree).to_contain_text("学生申请状态：未申请")
    flash = p.confirm_click(page.locator("#btn-apply-degree"), "确认提交学位申请", "申请学位")
    assert "学位申请已提交" in flash
    expect(degree).to_contain_text("学生申请状态：已申请")
    expect(page.locator("#degree-status")).to_contain_text("学位条件审核尚未进行")


def _png(width: int = 240, height: int = 80) -> bytes:
    """A small handwritten-looking signature image."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.line([(10, 60), (40, 15), (60, 55), (90, 20), (120, 58), (150, 25), (200, 50)], fill="navy", width=4)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def test_5_site_admin_audits_degree(person):
    """jxd001 (manual §3): 已申请, 学位条件审核, a 未达标's reasons, 修改授予结论, signature upload, signed 初审."""
    p = person("jxd001")
    p.login("jxd001")
    page = p.page
    p.menu("学位管理", "学位申请审核管理")
    expect(page.locator("#degree-breadcrumb")).to_have_text("学位管理 / 学位审核及授予 / 学位申请审核管理")
    n = degree_query(p)
    rows = cells(page, "#degree-table")
    assert n >= 5 and {r[D_SITE] for r in rows} == {JXD001_SITE} and {r[D_RESULT] for r in rows} == {"未审核"}
    assert row_of(page, "#degree-table", DEMO_STUDENT).count() == 1
    STATE["jxd001_application_ids"] = [int(re.search(r"/application/(\d+)", h).group(1)) for h in
                                       page.eval_on_selector_all("#degree-table a[href*='/application/']",
                                                                 "as => as.map(a => a.getAttribute('href'))")]

    # 学位条件审核 (右上角), confirm, 任务中心, 查询
    flash = p.confirm_click(page.locator("#btn-audit"), "学位条件审核", "学位条件审核_已提交")
    assert "已提交学位条件审核任务" in flash
    task = p.wait_task("学位条件审核任务")
    assert task["progress"] == f"{n}/{n}", task
    back_and_query(p, "学位审核后查询")
    rows = cells(page, "#degree-table")
    assert {r[D_RESULT] for r in rows} <= {"已达标", "未达标"}, {r[D_RESULT] for r in rows}
    demo = row_of(page, "#degree-table", DEMO_STUDENT)
    expect(demo.locator("td").nth(D_RESULT)).to_have_text("已达标")

    # 未达标: click it and read the reasons
    not_met = degree_query(p, "未达标", "筛选未达标")
    assert not_met >= 1
    target = cells(page, "#degree-table")[0]
    row = row_of(page, "#degree-table", target[D_NO])
    row.locator("a.result-not-met").click()
    reasons = page.locator(f"#reasons-{row.locator('input[name=rowid]').get_attribute('value')}")
    expect(reasons).to_be_visible()
    texts = reasons.locator(".reason-list li").all_inner_texts()
    assert texts and all(re.search(r"学位外语|学位课程|平均分|毕业", t) for t in texts), texts
    p.shot("未达标原因")

    # 修改授予结论 of that student, with the reason of the offline check
    row.locator("input[name=rowid]").check()
    button(page, "修改授予结论").click()
    panel = page.locator("#panel-override")
    expect(panel).to_be_visible()
    panel.locator("select[name=override_result]").select_option(label="已达标")
    panel.locator("input[name=override_reason]").fill("经线下核实，学位外语成绩已补录")
    p.shot("修改授予结论_填写")
    button(panel, "确认修改").click()
    page.wait_for_load_state()
    p.shot("修改授予结论_完成")
    assert "已修改 1 名学生的授予结论" in p.flashes()
    assert total(page) == not_met - 1

    # 电子签名: upload a PNG; it is shown back
    p.menu("学位管理", "电子签名")
    expect(page.locator(".alert-warning")).to_contain_text("尚未上传电子签名")
    page.set_input_files("input[name=signature]", files=[{"name": "签名.png", "mimeType": "image/png",
                                                          "buffer": _png()}])
    button(page, "上传").click()
    page.wait_for_load_state()
    p.shot("电子签名_已上传")
    assert "电子签名已上传" in p.flashes()
    img = page.locator("#current-signature img")
    expect(img).to_be_visible()
    assert img.evaluate("i => i.complete && i.naturalWidth") == 240

    # 初审: 已达标, 查询, tick three (the demo student and two more of 管理学院), 同意 + comment, signed
    p.menu("学位管理", "学位申请审核管理")
    met = degree_query(p, "已达标", "筛选已达标")
    rows = cells(page, "#degree-table")
    assert met >= 3 and {r[D_RESULT] for r in rows} == {"已达标"}
    chosen = [r for r in rows if r[D_NO] == DEMO_STUDENT]
    chosen += [r for r in rows if r[D_MAJOR] in MANAGEMENT_MAJORS and r[D_NO] != DEMO_STUDENT][:2]
    assert len(chosen) == 3, rows
    for r in chosen:
        row_of(page, "#degree-table", r[D_NO]).locator("input[name=rowid]").check()
    button(page, "初审").click()
    panel = page.locator("#panel-review")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("同意", exact=True)).to_be_checked()
    panel.locator("input[name=review_comment]").fill("材料齐全，同意授予学士学位")
    p.shot("初审_填写")
    button(panel, "签名并提交初审").click()
    page.wait_for_load_state()
    p.shot("初审_完成")
    assert "初审完成：3 名学生" in p.flashes()
    for r in chosen:
        cell = row_of(page, "#degree-table", r[D_NO]).locator("td").nth(D_REVIEW)
        expect(cell).to_contain_text("同意")
        expect(cell).to_contain_text("材料齐全")
        assert cell.locator("img.signature-img").evaluate("i => i.complete && i.naturalWidth") == 240
    STATE["reviewed"] = [r[D_NO] for r in chosen]


def test_6_college_admin_final_review(person):
    """xy001: 审核条件是否达标 已达标, 批量终审; the reviewed students leave the application audit page."""
    p = person("xy001")
    p.login("xy001")
    page = p.page
    p.menu("学位管理", "学位申请审核管理")
    met = degree_query(p, "已达标", "筛选已达标")
    rows = cells(page, "#degree-table")
    assert {r[D_MAJOR] for r in rows} <= MANAGEMENT_MAJORS, {r[D_MAJOR] for r in rows}
    on_page = {r[D_NO] for r in rows}
    assert set(STATE["reviewed"]) <= on_page
    flash = p.confirm_click(page.locator("#btn-final"), "批量终审", "批量终审_完成")
    assert f"批量终审完成：{len(STATE['reviewed'])} 名学生的学位申请已提交继教院" in flash, flash
    assert total(page) == met - len(STATE["reviewed"])
    left = {r[D_NO] for r in cells(page, "#degree-table")}
    assert not left & set(STATE["reviewed"]), left & set(STATE["reviewed"])


def test_7_ce_admin_publishes_degrees(person):
    """jjy001: 发布 the final-reviewed degrees; 学位授予管理 shows 发布状态 and 16-digit numbers; 导出
    学位申请信息汇总表."""
    p = person("jjy001")
    p.login("jjy001")
    page = p.page
    p.menu("学位管理", "学位授予管理")
    expect(page.locator("#degree-breadcrumb")).to_have_text("学位管理 / 学位审核及授予 / 学位授予管理")
    rows = cells(page, "#degree-table")
    assert sorted(r[1] for r in rows) == sorted(STATE["reviewed"]) and {r[11] for r in rows} == {"未发布"}
    flash = p.confirm_click(page.locator("#btn-publish"), "发布", "学位发布_已提交")
    assert "已提交学位发布任务" in flash
    p.wait_task("学位发布任务")
    p.menu("学位管理", "学位授予管理")
    rows = cells(page, "#degree-table")
    assert {r[11] for r in rows} == {"已发布"}
    numbers = [r[12] for r in rows]
    assert all(re.match(rf"^\d{{5}}4{this_year()}\d{{6}}$", no) for no in numbers), numbers
    assert len(set(numbers)) == len(numbers) and all(r[13] for r in rows)
    STATE["degree_no"] = next(r[12] for r in rows if r[1] == DEMO_STUDENT)

    # 点击导出按钮，选择导出学位申请信息汇总表 (manual §3.5): a FAB action of both degree lists; here on 学位授予管理,
    # whose list holds the published degrees (学位申请审核管理's holds those not yet 终审)
    export = page.locator("#btn-export")
    assert export.count(), "学位授予管理 has no 导出学位申请信息汇总表 action"
    expect(export.first).to_contain_text("学位申请信息汇总表")
    # nothing ticked: the whole filter, after the confirmation that states its count (app/views/bulk.py)
    flash = p.confirm_click(export.first, "导出学位申请信息汇总表", "导出汇总表_已提交")
    assert "导出任务已提交" in flash
    task = p.wait_task("学位申请信息汇总表导出")
    with page.expect_download() as info:
        task["row"].get_by_role("link", name="下载").click()
    download = info.value
    assert download.suggested_filename.startswith("学位申请信息汇总表")
    from openpyxl import load_workbook

    with open(download.path(), "rb") as fh:
        sheet = load_workbook(io.BytesIO(fh.read()), read_only=True).active
    text = "\n".join(" ".join(str(c) for c in row if c is not None) for row in sheet.iter_rows(values_only=True))
    assert DEMO_STUDENT in text and STATE["degree_no"] in text


def test_8_student_sees_degree_status(person):
    """The student sees 达标状态 已达标 and the granted degree in 学生空间."""
    p = person("student")
    p.login(DEMO_STUDENT, student=True)
    page = p.page
    expect(page.locator("#degree-status")).to_contain_text(re.compile(r"达标状态：\s*已达标"))
    expect(page.locator("#degree-section")).to_contain_text(f"学位证书编号 {STATE['degree_no']}")


# --------------------------------------------------------------------------- scope


def test_9_other_site_admin_sees_none_of_jxd001s_students(person):
    """jxd002 sees none of jxd001's students on any list, and their detail pages answer 404/403."""
    p = person("jxd002")
    p.login("jxd002")
    page = p.page
    theirs = set(STATE["jxd001_student_nos"])
    assert JXD001_SITE not in page.content(), "首页 shows jxd001's site"
    pages = [("毕业相关", "毕业审核管理"), ("毕业相关", "毕业生列表"), ("毕业相关", "毕业生档案管理"),
             ("学位管理", "学位申请审核管理"), ("学位管理", "学位授予管理"), ("学籍管理", "学生学籍"),
             ("学籍管理", "成绩"), ("学籍管理", "学位外语成绩"), ("学籍管理", "毕业生登记表"), ("任务中心",),
             ("操作日志",)]
    for labels in pages:
        p.menu(*labels)
        body = page.content()  # the whole HTML: hidden dialogs, filter options and scripts too
        assert JXD001_SITE not in body, labels
        site1_numbers = re.findall(r"(?<!\d)20\d\d01\d{4}(?!\d)", body)  # 学号 YYYY + site 01 + sequence
        assert not site1_numbers, (labels, site1_numbers)
        assert not theirs & set(re.findall(r"(?<!\d)\d{10}(?!\d)", body)), labels
    # searching for jxd001's student by number finds nothing
    p.menu("毕业相关", "毕业审核管理")
    page.fill("#f-q", DEMO_STUDENT)
    button(page, "查询").click()
    page.wait_for_load_state()
    p.shot("搜索南通学生")
    assert total(page) == 0
    # a forged 修改毕业审核结果 of jxd001's student, with a valid CSRF token of this page: 404
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = page.request.post(p.base + "/graduation/audit/override", form={
        "csrf_token": token, "ids": str(STATE["jxd001_student_ids"][0]), "override_result": "failed", "reason": "x"})
    assert forged.status == 404, forged.status
    # their record pages, by id: 404 or 403, never the record
    urls = [f"/graduation/audit/student/{STATE['jxd001_student_ids'][0]}",
            f"/graduation/audit/student/{STATE['jxd001_student_ids'][0]}/preview",
            f"/students/show/{STATE['jxd001_student_ids'][0]}",
            f"/students/photo/{STATE['jxd001_student_ids'][0]}",
            f"/degree/audit/application/{STATE['jxd001_application_ids'][0]}",
            f"/tasks/download/{STATE['jxd001_task_id']}"]
    for url in urls:
        response = page.goto(p.base + url)
        assert response.status in (403, 404), (url, response.status)
        p.shot(f"越权_{url}")
        assert DEMO_STUDENT not in page.content()
        if "preview" not in url and "photo" not in url:
            assert re.search(r"40[34] · (页面不存在|没有权限访问此页面)", page.inner_text("body")), url
