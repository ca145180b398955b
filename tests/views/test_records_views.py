"""学籍管理 pages: CE admin edits within the rules, admins read, the record page shows grades and progress."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Grade, LanguageScore, OperationLog, Student, TeachingPlan
from app.services import records
from app.services.errors import DomainError
from app.statuses import Level
from app.views.scoped import clamp_page_size
from tests import factories


def student_form(world, **over) -> dict:
    data = {
        "student_no": "2020019999", "name": "王五", "gender": "女", "id_card": "110105199001011234",
        "birth_date": "1990-01-01", "ethnicity": "汉族", "political_status": "群众", "mobile": "13700000000",
        "enrol_grade": "2020", "study_grade": "2020", "level": Level.HIGH_TO_BACHELOR.value,
        "major": str(world.major1.id), "study_mode": "hanshou", "duration_years": "5", "site": str(world.site1.id),
        "status": "enrolled", "enrolled_on": "2020-03-01",
    }
    data.update(over)
    return data


def test_ce_admin_adds_a_student_and_college_follows_major(world, ce_client):
    """A new student takes the college of its major, and the addition is logged."""
    resp = ce_client.post("/students/add", data=student_form(world, major=str(world.major2.id)))
    assert resp.status_code == 302
    s = db.session.scalar(select(Student).where(Student.student_no == "2020019999"))
    assert s.college_id == world.college2.id and s.site_id == world.site1.id and s.level == "gqb"
    assert db.session.query(OperationLog).filter_by(record_type="Student", record_id=s.id).count() == 1


def test_edit_cannot_put_a_student_under_a_non_site(world, ce_client):
    """Posting a college (or the CE) as 教学点 is refused and the student is unchanged."""
    pk = world.student1.id
    for bad in (world.college2.id, world.ce.id):
        ce_client.post(f"/students/edit/{pk}", data=student_form(world, student_no="2020010001", site=str(bad)))
        s = db.session.get(Student, pk)
        assert s.site_id == world.site1.id and s.name == "张三"
    # FAB's related-view filter arguments pre-fill the relation; the scoped dropdown still refuses it
    ce_client.post(f"/students/add?_flt_0_site={world.college1.id}", data=student_form(world, site=""))
    assert db.session.scalar(select(Student).where(Student.student_no == "2020019999")) is None


def test_service_check_refuses_a_non_site_and_syncs_college(world):
    """pre_add/pre_update's check: 教学点 must be a site; college_id is taken from the major."""
    s = db.session.get(Student, world.student1.id)
    s.site = world.college1
    with pytest.raises(DomainError, match="教学点"):
        records.check_student_orgs(s)
    db.session.rollback()
    s = db.session.get(Student, world.student1.id)
    s.major = world.major2
    records.check_student_orgs(s)
    assert s.major_id == world.major2.id and s.college_id == world.college2.id
    db.session.rollback()


def test_edit_moving_major_moves_college_and_is_logged(world, ce_client):
    """Changing the major changes college_id with it; old and new values go to the log."""
    pk = world.student1.id
    resp = ce_client.post(f"/students/edit/{pk}",
                          data=student_form(world, student_no="2020010001", name="张三丰", major=str(world.major2.id)))
    assert resp.status_code == 302
    s = db.session.get(Student, pk)
    assert s.major_id == world.major2.id and s.college_id == world.college2.id and s.name == "张三丰"
    entry = db.session.query(OperationLog).filter_by(record_type="Student", record_id=pk).one()
    assert "张三丰" in entry.new_value and "张三" in entry.old_value


def test_student_with_account_cannot_be_deleted(world, ce_client):
    """A student with an account is kept (set 退学 instead); one without records can be deleted."""
    pk = world.student1.id
    ce_client.post(f"/students/delete/{pk}")
    assert db.session.get(Student, pk) is not None
    lone = factories.student(world.site1, world.major1, no="2020010077", name="赵六")
    factories.grades(lone, {"C01": 70})
    db.session.commit()
    lone_id = lone.id
    assert ce_client.post(f"/students/delete/{lone_id}").status_code == 302
    db.session.expire_all()
    assert db.session.get(Student, lone_id) is None
    assert db.session.query(Grade).filter_by(student_id=lone_id).count() == 0


def test_record_page_shows_grades_by_term_and_plan_progress(world, site_client):
    """All attempts by 学期; each plan course passed or not with its best score."""
    s = world.student1
    factories.grades(s, {"C01": 50, "C02": "良"}, term="2020-2021-1")
    factories.grades(s, {"C01": 72}, term="2021-2022-1", kind="makeup")
    db.session.commit()
    page = site_client.get(f"/students/show/{s.id}").get_data(as_text=True)
    assert "学期 2020-2021-1" in page and "学期 2021-2022-1" in page and "补考" in page
    table = page[page.index('id="plan-progress"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)
    text = {re.sub(r"<[^>]+>|\s+", " ", r).split()[0]: re.sub(r"<[^>]+>|\s+", " ", r) for r in rows[1:]}
    assert "72" in text["C01"] and "已通过" in text["C01"]
    assert "85" in text["C02"] and "已通过" in text["C02"]
    assert "未通过" in text["C03"]
    for label in ("学号", "身份证号", "政治面貌", "学籍年级", "学习年级", "学习形式", "学制", "入学日期",
                  "已通过课程数", "已获总学分", "同步时间", "毕业照片"):
        assert label in page, label
    assert "高起本" in page and "在籍" in page and "函授" in page
    assert f'action="/students/upload_photo/{s.id}"' in page


def test_college_admin_sees_photo_but_no_upload_form(world, college_client):
    """A college admin reads the record; the upload form is only for site and CE admins."""
    page = college_client.get(f"/students/show/{world.student1.id}").get_data(as_text=True)
    assert f"/students/photo/{world.student1.id}" in page and "upload_photo" not in page


def test_search_filters_by_level_and_student_no(world, site_client):
    """The list filters by 层次 code chosen from Chinese labels and by 学号."""
    factories.student(world.site1, world.major1, no="2020010002", name="钱七", level=Level.JUNIOR_TO_BACHELOR)
    db.session.commit()
    page = site_client.get("/students/list/?_flt_0_level=zsb").get_data(as_text=True)
    assert "钱七" in page and "张三" not in page
    page = site_client.get("/students/list/?_flt_0_student_no=2020010001").get_data(as_text=True)
    assert "张三" in page and "钱七" not in page
    assert "专升本" in site_client.get("/students/list/").get_data(as_text=True)


def test_page_size_is_clamped(app_ctx):
    """?psize_ above 100 gives 100; zero or negative (SQL 'no limit') falls back to the default."""
    assert clamp_page_size(5000) == 100
    assert clamp_page_size(-1) is None and clamp_page_size(0) is None
    assert clamp_page_size(30) == 30


def test_huge_page_size_renders_at_most_100_rows(world, site_client):
    """A list asked for 3,000 rows shows 100; a negative page size is refused (400), not a 500."""
    for i in range(105):
        factories.student(world.site1, world.major1, no=f"2021{i:06d}", name=f"学生{i}", form=None)
    db.session.commit()
    page = site_client.get("/students/list/?psize_StudentView=3000").get_data(as_text=True)
    shown = len(set(re.findall(r"/students/show/(\d+)", page)))
    assert 0 < shown <= 100
    assert site_client.get("/students/list/?psize_StudentView=-1").status_code == 400


def test_grade_added_by_student_no_with_word_score(world, ce_client):
    """CE adds a grade by 学号; 良 is stored as 85; an unreadable score is refused."""
    data = {"student_no": "2020010001", "course_code": "C09", "course_name": "统计学", "term": "2022-2023-1",
            "raw_score": "良", "exam_kind": "regular"}
    assert ce_client.post("/grades/add", data=data).status_code == 302
    g = db.session.scalar(select(Grade).where(Grade.course_code == "C09"))
    assert g.score == 85 and g.student_id == world.student1.id
    ce_client.post("/grades/add", data={**data, "course_code": "C10", "raw_score": "很好"})
    ce_client.post("/grades/add", data={**data, "course_code": "C11", "student_no": "0000"})
    assert db.session.scalar(select(Grade).where(Grade.course_code.in_(["C10", "C11"]))) is None


def test_language_substitute_needs_425(world, ce_client):
    """CET-4 below 425 is no substitute; at 425 it is recorded as a pass."""
    base = {"student_no": "2020010001", "exam_date": "2023-06-01", "score": "", "substitute": "cet4"}
    ce_client.post("/language_scores/add", data={**base, "substitute_score": "400"})
    assert db.session.query(LanguageScore).count() == 0
    assert ce_client.post("/language_scores/add", data={**base, "substitute_score": "425"}).status_code == 302
    assert db.session.query(LanguageScore).one().passed is True


def test_admins_read_plans_but_only_ce_edits(world, site_client, college_client, ce_client):
    """Teaching plans are readable by site and college admins; add/edit/delete are CE-only."""
    pid = world.plan1.id
    for c in (site_client, college_client):
        page = c.get(f"/plans/show/{pid}").get_data(as_text=True)
        assert "高等数学" in page
        assert c.get(f"/plans/edit/{pid}").status_code == 403
        assert c.post(f"/plans/delete/{pid}").status_code == 403
    resp = ce_client.post(f"/plans/edit/{pid}", data={"major": str(world.major1.id), "level": "gqb", "grade": "2020",
                                                      "min_total_credits": "12", "min_elective_credits": "2"})
    assert resp.status_code == 302
    assert db.session.get(TeachingPlan, pid).min_total_credits == 12
