"""The onboarding imports (issue 17): 机构与专业 and 账号, through the import task, all rows or none."""
from __future__ import annotations

import time
from urllib.parse import quote

import openpyxl
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app import storage
from app.extensions import db
from app.imports.schema import ACCOUNTS, ORGS
from app.jobs import runner
from app.models import Major, OperationLog, Organisation, Task
from app.models.account import Account, AccountSession
from app.services import imports
from app.statuses import TaskState
from tests.imports.builders import xlsx


def ce() -> Account:
    return db.session.scalar(select(Account).where(Account.username == "jjy001"))


def run(kind: str, rows: list[list], filename: str = "机构.xlsx") -> Task:
    spec = ORGS if kind == "orgs" else ACCOUNTS
    task = imports.start_import(actor=ce(), kind=kind, filename=filename, data=xlsx(spec.headers, rows))
    runner.submit(task)
    db.session.expire_all()
    return db.session.get(Task, task.id)


def ok(task: Task) -> dict:
    assert task.state == TaskState.SUCCEEDED.value, task.error
    return task.summary


def report(task: Task) -> list[tuple]:
    assert task.state == TaskState.FAILED.value
    ws = openpyxl.load_workbook(storage.resolve(task.result_path), read_only=True).worksheets[0]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def org(code: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def account(username: str) -> Account | None:
    return db.session.scalar(select(Account).where(Account.username == username))


def counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Organisation, Major, Account))


TREE = [
    ["二级学院", "C10", "经济学院", None, "张老师", "0513-85012345", None],
    ["教学点", "S10", "海门教学点", None, "王老师", "13900000001", None],
    ["专业", "M10", "国际贸易", "C10", None, None, "专升本、高起专"],
]


# --------------------------------------------------------------------------- 机构与专业


def test_orgs_import_creates_a_college_its_major_and_a_site_under_the_ce(world):
    assert ok(run("orgs", TREE)) == {"新增": 3, "更新": 0, "未变": 0}
    college, site = org("C10"), org("S10")
    assert (college.kind, college.parent_id, college.contact_name, college.contact_phone) == \
        ("college", world.ce.id, "张老师", "0513-85012345")
    assert (site.kind, site.parent_id, site.name) == ("site", world.ce.id, "海门教学点")
    major = db.session.scalar(select(Major).where(Major.code == "M10"))
    assert (major.name, major.college_id, major.levels) == ("国际贸易", college.id, "zsb,gqz")


def test_the_base_data_lists_show_the_imported_contacts_and_levels(world, ce_client):
    ok(run("orgs", TREE))
    orgs = ce_client.get("/organisations/list/").get_data(as_text=True)
    assert "联系电话" in orgs and "0513-85012345" in orgs and "张老师" in orgs
    majors = ce_client.get("/majors/list/").get_data(as_text=True)
    assert "国际贸易" in majors and "专升本、高起专" in majors


def test_orgs_reimport_changes_nothing_and_an_edit_updates_by_code(world):
    ok(run("orgs", TREE))
    before = counts()
    assert ok(run("orgs", TREE)) == {"新增": 0, "更新": 0, "未变": 3}
    edited = [TREE[0][:4] + ["李老师", "0513-1", None], TREE[1], TREE[2]]
    assert ok(run("orgs", edited)) == {"新增": 0, "更新": 1, "未变": 2}
    assert counts() == before
    assert org("C10").contact_name == "李老师"


def test_orgs_import_refuses_the_whole_file_and_reports_each_bad_row(world):
    before = counts()
    task = run("orgs", [
        TREE[0],
        ["学院", "C11", "文学院", None, None, None, None],                 # unknown 类型
        ["教学点", world.college1.code, "改名教学点", None, None, None, None],  # a college's code as a site
        ["教学点", "S11", "南通教学点", None, None, None, None],             # name of another organisation
        ["专业", "M11", "会计学", "C99", None, None, "专升本"],               # no such college
        ["专业", "M12", "金融学", "C10", None, None, "研究生"],              # unknown level
        ["二级学院", "C12", "艺术学院", world.site1.code, None, None, None],  # parent not the CE
        ["二级学院", "C10", "经济学院二", None, None, None, None],           # code twice in the file
    ])
    rows = report(task)
    assert "未导入任何数据" in task.error
    problems = {(r[0], r[1]) for r in rows[1:]}
    assert {(3, "类型"), (4, "代码"), (5, "名称"), (6, "上级机构代码"), (7, "层次"), (8, "上级机构代码"),
            (9, "代码")} <= problems
    assert counts() == before and org("C10") is None


# --------------------------------------------------------------------------- 账号


def staff_rows(world) -> list[list]:
    return [
        ["js0101", "赵老师", "13900000011", "教学点管理员", world.site1.code],
        ["js0102", "钱老师", "13900000012", "学院管理员", world.college1.code],
    ]


def test_accounts_import_creates_staff_with_the_initial_password_and_logs_each(world):
    task = run("accounts", staff_rows(world), "账号.xlsx")
    assert ok(task) == {"新增": 2, "更新": 0, "未变": 0}
    a = account("js0101")
    assert (a.first_name, a.mobile, a.org_id, [r.name for r in a.roles], a.must_change_password) == \
        ("赵老师", "13900000011", world.site1.id, ["SiteAdmin"], True)
    assert check_password_hash(a.password, "edu@13900000011")
    assert [r.name for r in account("js0102").roles] == ["CollegeAdmin"]
    logged = db.session.scalars(select(OperationLog.record_id).where(OperationLog.action == "account_create")).all()
    assert {a.id, account("js0102").id} <= set(logged)


def test_an_existing_staff_number_is_updated_never_duplicated_and_logged(world):
    ok(run("accounts", staff_rows(world)))
    a = account("js0101")
    password = a.password
    db.session.add(AccountSession(account_id=a.id, token="t" * 40))
    db.session.commit()
    before = counts()
    moved = [["js0101", "赵老师", "13900000099", "教学点管理员", world.site2.code], staff_rows(world)[1]]
    assert ok(run("accounts", moved)) == {"新增": 0, "更新": 1, "未变": 1}
    assert counts() == before
    a = account("js0101")
    assert (a.mobile, a.org_id, a.password) == ("13900000099", world.site2.id, password)
    change = db.session.scalar(select(OperationLog).where(OperationLog.action == "account_update",
                                                          OperationLog.record_id == a.id))
    assert "手机号" in change.new_value and "所属机构" in change.new_value
    # another organisation: whoever was logged in as js0101 is out
    assert db.session.scalar(select(AccountSession.ended_at).where(AccountSession.account_id == a.id)) is not None
    assert ok(run("accounts", moved)) == {"新增": 0, "更新": 0, "未变": 2}


def test_accounts_import_checks_role_against_organisation_kind_and_imports_nothing(world):
    before = counts()
    task = run("accounts", [
        ["js0201", "孙老师", "13900000021", "教学点管理员", world.college1.code],   # a site admin in a college
        ["js0202", "周老师", "13900000022", "学院管理员", world.site1.code],        # a college admin at a site
        ["js0203", "吴老师", "13900000023", "继教院管理员", world.ce.code],          # fine
        ["js0204", "郑老师", "1390000", "学生", "X99"],                             # mobile, role, org
        ["2020010001", "张三", "13900000025", "教学点管理员", world.site1.code],    # a student's account
        ["js0203", "吴老师", "13900000023", "继教院管理员", world.ce.code],          # twice
    ])
    problems = {(r[0], r[1]) for r in report(task)[1:]}
    assert {(2, "所属机构代码"), (3, "所属机构代码"), (5, "手机号"), (5, "角色"), (5, "所属机构代码"),
            (6, "工号"), (7, "工号")} <= problems
    assert (4, "所属机构代码") not in problems
    assert counts() == before and account("js0203") is None


def test_the_import_page_offers_both_new_kinds_to_the_ce_admin_only(ce_client, site_client):
    page = ce_client.get("/imports/").get_data(as_text=True)
    assert "机构与专业" in page and 'value="accounts"' in page
    for kind, name in (("orgs", "机构与专业导入模板.xlsx"), ("accounts", "账号导入模板.xlsx")):
        resp = ce_client.get(f"/imports/template/{kind}")
        assert resp.status_code == 200
        ws = openpyxl.load_workbook(__import__("io").BytesIO(resp.data), read_only=True).worksheets[0]
        header = [c for c in next(ws.iter_rows(values_only=True))]
        assert header == list((ORGS if kind == "orgs" else ACCOUNTS).headers)
        assert "filename*=UTF-8''" + quote(name) in resp.headers["Content-Disposition"]
    assert site_client.get("/imports/template/accounts").status_code in (302, 403)


def test_a_hundred_accounts_import_within_the_job_and_the_figure_is_known(world, app, monkeypatch, capsys):
    """With production's argon2id (the suite otherwise hashes cheaply): ~0.02 s an account, in the job."""
    from app.services.passwords import DEFAULT_METHOD

    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", DEFAULT_METHOD)
    rows = [[f"js{i:04d}", f"老师{i}", f"139{i:08d}", "教学点管理员", world.site1.code] for i in range(100)]
    started = time.perf_counter()
    assert ok(run("accounts", rows)) == {"新增": 100, "更新": 0, "未变": 0}
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n100 accounts imported (argon2id) in {seconds:.1f} s")
    assert account("js0099").password.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert seconds < 60
