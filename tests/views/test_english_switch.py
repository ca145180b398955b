"""The English switch translates our own pages; the default stays Chinese.

FAB's ``/lang/en`` stores the choice in the session; ``?_l_=en`` applies to that one request only.
"""
from __future__ import annotations

from app.extensions import db
from tests import factories

PAGES = {
    "/graduation/audit/": (["Graduation audit", "Search", "Sync course data", "Confirm all graduates"],
                           ["毕业审核管理", "查询", "同步课程数据", "一键确认毕业"]),
    "/degree/audit/?applied=applied": (["Degree condition audit", "First review", "Search"],
                                       ["学位条件审核", "初审", "查询"]),
    "/tasks/": (["Task center"], ["任务中心"]),
    "/": (["Continuing Education Service Platform — Graduation / Degree audit"], ["毕业/学位审核"]),
}


def _with_degree_batch():
    factories.degree_batch()
    db.session.commit()


def test_english_mode_translates_our_pages(world, site_client):
    """After /lang/en a site admin sees English labels and not the Chinese ones they replace."""
    _with_degree_batch()
    assert site_client.get("/lang/en").status_code == 302
    for url, (english, chinese) in PAGES.items():
        page = site_client.get(url).get_data(as_text=True)
        for text in english:
            assert text in page, (url, text)
        for text in chinese:
            assert f">{text}<" not in page and f" {text}</" not in page and f"— {text}<" not in page, (url, text)


def test_default_mode_keeps_the_chinese_labels(world, site_client):
    """Without the switch the same pages show exactly the Chinese labels of the manual."""
    _with_degree_batch()
    for url, (_english, chinese) in PAGES.items():
        page = site_client.get(url).get_data(as_text=True)
        for text in chinese:
            assert text in page, (url, text)
        assert "Sync course data" not in page and "Batch final review" not in page


def test_switching_back_to_chinese(world, site_client):
    """/lang/zh after English returns the session to the Chinese labels."""
    site_client.get("/lang/en")
    assert "Search" in site_client.get("/graduation/audit/").get_data(as_text=True)
    site_client.get("/lang/zh")
    page = site_client.get("/graduation/audit/").get_data(as_text=True)
    assert "查询" in page and "Sync course data" not in page


def test_login_page_in_english(app):
    """The login page itself follows ?_l_=en (before anyone logs in); a page's own ?_l_=en works too."""
    client = app.test_client()
    page = client.get("/login/?_l_=en").get_data(as_text=True)
    assert "Staff login" in page and "Student login" in page and "机构账号登录" not in page
    page = app.test_client().get("/login/").get_data(as_text=True)
    assert "机构账号登录" in page and "初始密码：edu@手机号" in page


def test_per_request_switch(world, site_client):
    """?_l_=en on a page translates that page without changing the session."""
    page = site_client.get("/graduation/audit/?_l_=en").get_data(as_text=True)
    assert "Sync course data" in page and "同步课程数据" not in page
    assert "同步课程数据" in site_client.get("/graduation/audit/").get_data(as_text=True)


def test_other_roles_actions_in_english(world, college_client, ce_client):
    """The college sees 批量终审 and the CE sees 发布 translated, and in Chinese by default."""
    _with_degree_batch()
    for client, url, english, chinese in [
        (college_client, "/degree/audit/?applied=applied", "Batch final review", "批量终审"),
        (ce_client, "/degree/grants/?_flt_0_published=no", "Publish", "发布"),
        (ce_client, "/graduation/audit/", "Publish", "发布"),
    ]:
        assert f"</i> {chinese}</button>" in client.get(url).get_data(as_text=True)
        page = client.get(url + ("&" if "?" in url else "?") + "_l_=en").get_data(as_text=True)
        assert f"</i> {english}</button>" in page and f"</i> {chinese}</button>" not in page


def test_other_pages_render_in_english(world, login, ce_client):
    """Every page with wrapped text renders in English (no format errors) and shows its English labels."""
    factories.graduation_result(world.student1)
    _with_degree_batch()
    pages = [
        (ce_client, f"/graduation/audit/student/{world.student1.id}", "Student information"),
        (ce_client, "/graduation/graduates/", "Graduates"),
        (ce_client, "/graduation/archive/", "Export documents"),
        (ce_client, "/degree/grants/", "Publication status"),
        (ce_client, "/signature/", "Degrees / E-signature"),
        (ce_client, "/imports/", "Import templates"),
        (ce_client, "/account/password", "Change password"),
        (ce_client, f"/students/show/{world.student1.id}", "Teaching plan progress"),
        (ce_client, "/", "Graduation audit overview"),
        (login("2020010001", "student"), "/space/", "Self-assessment"),
    ]
    for client, url, english in pages:
        resp = client.get(url + "?_l_=en")
        assert resp.status_code == 200, url
        assert english in resp.get_data(as_text=True), (url, english)


def test_model_view_columns_in_english(world, ce_client):
    """FAB list pages of our models (学籍, 机构) show English column labels in English mode."""
    page = ce_client.get("/students/list/?_l_=en").get_data(as_text=True)
    assert "Student no." in page and "Enrolment grade" in page
    page = ce_client.get("/organisations/list/?_l_=en").get_data(as_text=True)
    assert "Organisation code" in page and "机构代码" not in page
    assert "机构代码" in ce_client.get("/organisations/list/").get_data(as_text=True)
