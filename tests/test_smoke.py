"""The app boots, serves a Chinese login page and each role logs in."""


def test_login_page_is_chinese(app_ctx, app):
    """The login page offers the manual's two entrances."""
    page = app.test_client().get("/login/").get_data(as_text=True)
    assert "机构账号登录" in page and "学生登录" in page


def test_each_role_logs_in(ce_client, college_client, site_client, student_client):
    """Every demo role can log in and open the home page."""
    for c in (ce_client, college_client, site_client):
        assert c.get("/").status_code == 200
    assert student_client.get("/").status_code in (200, 302)
