"""Each demo account logs in through the real login page and sees only its own menus, in Chinese."""


def test_each_role_sees_its_menus_in_chinese(person):
    """jjy001, xy001, jxd001 see 毕业相关/学位管理/任务中心; the student sees 学生空间 only."""
    admin_menus = ["毕业相关", "学位管理", "任务中心"]
    for username in ("jjy001", "xy001", "jxd001"):
        p = person(username)
        p.login(username)
        body = p.page.inner_text("body")
        for menu in admin_menus:
            assert menu in body, (username, menu)
        assert "基础数据" in body if username == "jjy001" else "基础数据" not in body
        assert "Security" not in body and "List Users" not in body
    s = person("student")
    s.login("2020010001", student=True)
    body = s.page.inner_text("body")
    assert "学生空间" in body and "毕业审核管理" not in body
