"""Manual section 3 (学位审核), steps 1–5, as one scenario through the pages of every role."""
from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import DegreeApplication, Student, Task
from app.statuses import TaskState
from tests import factories
from tests.clients import press


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (240, 80), "white").save(buf, "PNG")
    return buf.getvalue()


def _app_id(name: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(DegreeApplication.id).join(Student, Student.id == DegreeApplication.student_id)
                             .where(Student.name == name))


def _row(page: str, name: str) -> str:
    """The table row of one student in a rendered list page."""
    match = re.search(r"<tr>((?:(?!</tr>).)*?" + name + r".*?)</tr>", page, re.S)
    assert match, name
    return match.group(1)


def test_manual_section_3(world, login):
    """学位申请 → 学位条件审核 → reasons → 修改授予结论 → 签名初审 → 批量终审 → 发布 → 学位授予管理 and 学生空间."""
    factories.degree_batch(name="2020级学士学位（2025）", course_average_mark=70, year=2025)
    s1 = world.student1  # 张三: the student who applies herself
    others = {
        "王五": ({"C01": 85, "C02": 80}, 72),
        "赵六": ({"C01": 85, "C02": 80}, 52),  # 学位外语 below the pass mark
        "孙七": ({"C01": 62, "C02": 66}, 70),  # average 64 < 70; found acceptable after offline checks
    }
    factories.graduation_result(s1)
    factories.language(s1, 75)
    factories.grades(s1, factories.ALL_PASS)
    for name, (scores, lang) in others.items():
        s = factories.student(world.site1, world.major1, name=name)
        factories.graduation_result(s)
        factories.language(s, lang)
        factories.grades(s, scores)
    factories.graduation_result(world.student2)  # another site's student, who must never appear for jxd001
    db.session.commit()

    # The student applies in 学生空间; before any audit there is no 达标状态.
    student = login("2020010001", "student")
    page = student.post("/space/degree/apply", follow_redirects=True).get_data(as_text=True)
    assert "已申请" in page and "学位条件审核尚未进行" in page

    # The site registers the others (学生申请状态 = 未申请 → 代为申请).
    site = login("jxd001")
    page = site.get("/degree/audit/?applied=not_applied").get_data(as_text=True)
    ids = [s.id for s in db.session.scalars(select(Student).where(Student.name.in_(list(others))))]
    assert all(n in page for n in others) and "李四" not in page
    assert press(site, "/degree/audit/register", data={"applied": "not_applied", "ids": ids}).status_code == 302

    # Step 1–2: 学位管理 → 学位审核及授予 → 学位申请审核管理; 学生申请状态 = 已申请, 查询; 学位条件审核.
    page = site.get("/degree/audit/?applied=applied").get_data(as_text=True)
    assert "学位管理 / 学位审核及授予 / 学位申请审核管理" in page
    assert all(n in page for n in ["张三", *others]) and "李四" not in page
    r = press(site, "/degree/audit/audit", data={"applied": "applied"}, follow_redirects=True)
    assert "已提交学位条件审核任务" in r.get_data(as_text=True)

    # Step 3: the task center's row says 成功 with the summary.
    task = db.session.scalar(select(Task).where(Task.kind == "degree_audit"))
    assert task.state == TaskState.SUCCEEDED.value and task.summary == {"已达标": 2, "未达标": 2}

    # Step 4 (1): results in 学位申请条件是否达标; 未达标 shows its reasons.
    page = site.get("/degree/audit/?applied=applied").get_data(as_text=True)
    assert "已达标" in _row(page, "张三")
    zhao = _row(page, "赵六")
    assert "未达标" in zhao and "学位外语成绩 52，低于合格线 60" in zhao
    detail = site.get(f"/degree/audit/application/{_app_id('孙七')}").get_data(as_text=True)
    assert "学位课程平均分 64，低于 70" in detail

    # Only now does the student see 达标状态.
    page = student.get("/space/").get_data(as_text=True)
    assert "达标状态" in page and "已达标" in page and "学位条件审核尚未进行" not in page

    # Step 4 (2): 修改授予结论 after offline checks, with a reason.
    r = press(site, "/degree/audit/override", data={"applied": "applied", "ids": [_app_id("孙七")],
                                                  "override_result": "met", "override_reason": "补考成绩已线下核实"})
    assert r.status_code == 302
    assert "补考成绩已线下核实" in _row(site.get("/degree/audit/").get_data(as_text=True), "孙七")

    # Step 4 (3): upload the electronic signature, then 初审 the selected 已达标 rows.
    r = site.post("/signature/upload", data={"signature": (io.BytesIO(_png()), "我的签名.png")},
                  content_type="multipart/form-data")
    assert r.status_code == 302
    chosen = [_app_id(n) for n in ("张三", "王五", "孙七")]
    r = press(site, "/degree/audit/review", data={"applied": "applied", "ids": chosen, "review_opinion": "agree",
                                                "review_comment": "同意申请"}, follow_redirects=True)
    assert "初审完成：3 名学生" in r.get_data(as_text=True)
    row = _row(site.get("/degree/audit/").get_data(as_text=True), "王五")
    assert "同意" in row and "jxd001" in row and "/signature/image/" in row

    # Step 3 of the college: 审核条件是否达标 = 已达标, 查询, 批量终审; those students leave the page.
    college = login("xy001")
    page = college.get("/degree/audit/?result=met").get_data(as_text=True)
    assert all(n in page for n in ("张三", "王五", "孙七"))
    r = press(college, "/degree/audit/final", data={"applied": "applied", "result": "met"}, follow_redirects=True)
    assert "批量终审完成：3 名学生" in r.get_data(as_text=True)
    page = college.get("/degree/audit/").get_data(as_text=True)
    assert "赵六" in page and not any(n in page for n in ("张三", "王五", "孙七"))
    # 学位授予管理 shows the site its students only once the CE college published; the 初审 signature is on the detail
    assert "王五" not in site.get("/degree/grants/").get_data(as_text=True)
    detail = site.get(f"/degree/audit/application/{_app_id('王五')}").get_data(as_text=True)
    sig_url = re.search(r'src="(/signature/image/\d+)"', detail).group(1)
    assert college.get(sig_url).status_code == 200

    # Step 4 of the CE college: 发布; 学位授予管理 shows 已发布 and the 学位证书编号.
    ce = login("jjy001")
    page = ce.get("/degree/grants/").get_data(as_text=True)
    assert "未发布" in _row(page, "张三")
    r = press(ce, "/degree/audit/publish", data={}, follow_redirects=True)
    assert "已提交学位发布任务" in r.get_data(as_text=True)
    page = ce.get("/degree/grants/?published=yes").get_data(as_text=True)
    numbers = []
    for name in ("张三", "王五", "孙七"):
        row = _row(page, name)
        assert "已发布" in row
        numbers.append(re.search(r"\b(\d{16})\b", row).group(1))
    assert len(set(numbers)) == 3 and all(n.startswith("1030442025") for n in numbers)
    assert "赵六" not in page
    page = site.get("/degree/grants/").get_data(as_text=True)
    assert "已发布" in _row(page, "孙七") and "李四" not in page

    # The student sees the granted degree.
    page = student.get("/space/").get_data(as_text=True)
    assert "学位证书编号" in page and any(n in page for n in numbers)
