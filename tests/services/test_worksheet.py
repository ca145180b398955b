"""毕业进度 worksheet and what-if (services.worksheet): each course state from the one rules core, the
totals, the degree part, what-if changing the verdict while writing nothing, and the what-if validation."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CourseException, GraduationAudit, OperationLog, Student
from app.services import graduation, worksheet
from app.services.errors import DomainError
from app.statuses import ExceptionStatus, Level
from tests import factories


def approved(student: Student, code: str, name: str, kind: str, **kw) -> CourseException:
    row = CourseException(student_id=student.id, course_code=code, course_name=name, kind=kind,
                          reason="测试", status=ExceptionStatus.APPROVED.value,
                          decided_at=dt.datetime(2026, 12, 1, 2, 0), **kw)
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture()
def mixed(world):
    """student1: 高等数学 80, 大学英语 50 (未通过), 管理学原理 replaced by 学术英语 X09 (75), 选修一 免修,
    选修二 70; in the 2020 高起本 batch."""
    s = world.student1
    factories.graduation_batch()
    factories.grades(s, {"C01": 80, "C02": 50, "E02": 70, "X09": 75})
    approved(s, "C03", "管理学原理", "substitute", substitute_code="X09", substitute_name="学术英语")
    approved(s, "E01", "选修一", "waiver")
    db.session.commit()
    return s


def rows_by_code(sheet) -> dict:
    return {c["code"]: c for g in sheet["groups"] for c in g["courses"]}


def fingerprint() -> dict:
    """Row counts of every table plus the graduation results and the operation log's size."""
    db.session.expire_all()
    counts = {t.name: db.session.scalar(select(func.count()).select_from(t))
              for t in db.metadata.sorted_tables + list(CourseException.metadata.sorted_tables)}
    counts["audits"] = sorted(db.session.execute(
        select(GraduationAudit.student_id, GraduationAudit.result, GraduationAudit.computed_result)).tuples().all())
    counts["oplog"] = db.session.scalar(select(func.count()).select_from(OperationLog))
    return counts


def test_every_course_state_grouped_with_totals(mixed):
    sheet = worksheet.worksheet(mixed)
    groups = sheet["groups"]
    assert [g["label"] for g in groups] == ["必修", "选修"]
    assert [c["code"] for c in groups[0]["courses"]] == ["C01", "C02", "C03"]
    assert [c["code"] for c in groups[1]["courses"]] == ["E01", "E02"]
    rows = rows_by_code(sheet)
    assert (rows["C01"]["state_label"], rows["C01"]["score"]) == ("已通过", "80")
    assert (rows["C02"]["state_label"], rows["C02"]["score"]) == ("未通过", "50")
    assert (rows["C03"]["state_label"], rows["C03"]["score"]) == ("替代", "75")
    assert "以 学术英语 替代" in rows["C03"]["label"] and "2026-12-01" in rows["C03"]["label"]
    assert (rows["E01"]["state_label"], rows["E01"]["score"]) == ("免修", "")
    assert (rows["E02"]["state_label"], rows["E02"]["score"]) == ("已通过", "70")
    assert rows["C01"]["credits"] == "4"
    t = sheet["totals"]
    assert (t["total"], t["total_min"], t["total_ok"]) == ("10", "10", True)  # 4 + 2 + 2 + 2
    assert (t["elective"], t["elective_min"], t["elective_ok"]) == ("4", "2", True)
    assert (sheet["form_label"], sheet["form_ok"], sheet["has_photo"]) == ("已提交", True, True)
    assert sheet["verdict"]["result"] == "failed"
    assert sheet["verdict"]["reasons"] == ["必修课程未通过：大学英语（4学分，最高成绩 50）"]
    assert any("学术英语" in n for n in sheet["verdict"]["notes"])
    assert sheet["what_if"] is False


def test_not_taken_course_recognised_credits_and_missing_form(world):
    s = factories.student(world.site1, world.major1, no="2020010009", name="王九", photo=False, form=None)
    factories.grades(s, {"C01": 80, "C02": 61})
    approved(s, "E02", "选修二", "recognition", source_institution="某大学", source_course="管理沟通", credits=2.0)
    db.session.commit()
    sheet = worksheet.worksheet(s)
    rows = rows_by_code(sheet)
    assert (rows["C03"]["state_label"], rows["C03"]["score"]) == ("未修", "")
    assert (rows["E01"]["state_label"]) == "未修"
    assert rows["E02"]["state_label"] == "认定" and rows["E02"]["earned"] == "2"
    assert (sheet["form_label"], sheet["form_ok"], sheet["has_photo"]) == ("未填写", False, False)
    reasons = sheet["verdict"]["reasons"]
    assert "必修课程未通过：管理学原理（2学分）" in reasons
    assert sheet["totals"]["total"] == "10" and sheet["totals"]["total_ok"]  # 4 + 4 + recognised 2
    assert not any(r.startswith("已获总学分") for r in reasons)
    assert any("毕业生登记表" in r for r in reasons) and any("照片" in r for r in reasons)


def test_sheet_matches_the_preview(mixed):
    """The live verdict is 审核预览's, on the same inputs."""
    assert worksheet.worksheet(mixed)["verdict"]["reasons"] == [r.message for r in graduation.preview(mixed).reasons]


def test_what_if_changes_the_verdict_and_writes_nothing(mixed):
    before = fingerprint()
    sheet = worksheet.worksheet(mixed, ["C02"], ["65"])
    assert sheet["what_if"] is True
    assert sheet["live"]["result"] == "failed"
    assert sheet["verdict"]["result"] == "pre_graduate" and sheet["verdict"]["reasons"] == []
    row = rows_by_code(sheet)["C02"]
    assert (row["state_label"], row["score"], row["hypothetical"], row["changed"]) == ("已通过", "65", True, True)
    assert sheet["hypotheses"] == [{"code": "C02", "name": "大学英语", "score": "65"}]
    assert not db.session.new and not db.session.dirty and not db.session.deleted
    db.session.commit()
    assert fingerprint() == before
    again = worksheet.worksheet(mixed)  # nothing kept: the live sheet is as before
    assert again["verdict"]["result"] == "failed" and rows_by_code(again)["C02"]["score"] == "50"


def test_what_if_is_a_further_attempt_not_a_replacement(mixed):
    """A hypothetical score lower than the best attempt changes nothing (the best attempt counts)."""
    sheet = worksheet.worksheet(mixed, ["C01", "C02"], ["30", "59.5"])
    rows = rows_by_code(sheet)
    assert rows["C01"]["score"] == "80" and not rows["C01"]["changed"]
    assert (rows["C02"]["state_label"], rows["C02"]["score"]) == ("未通过", "59.5")
    assert sheet["verdict"]["reasons"] == ["必修课程未通过：大学英语（4学分，最高成绩 59.5）"]


def test_what_if_blank_rows_are_ignored(mixed):
    sheet = worksheet.worksheet(mixed, ["", "C02", ""], ["", "良", ""])
    assert sheet["hypotheses"] == [{"code": "C02", "name": "大学英语", "score": "85"}]
    assert sheet["verdict"]["result"] == "pre_graduate"


@pytest.mark.parametrize(("codes", "scores", "message"), [
    (["X09"], ["90"], "第 1 条假设：课程不在该生的教学计划中"),
    (["C02"], ["101"], "成绩超出范围"),
    (["C02"], ["-1"], "成绩超出范围"),
    (["C02"], ["abc"], "成绩无法识别"),
    (["C02"], ["nan"], "成绩无法识别"),
    (["C02"], ["1e400"], "成绩无法识别"),
    (["C02"], [""], "第 1 条假设（大学英语）：请填写成绩"),
    ([""], ["60"], "第 1 条假设：请选择课程"),
    (["C01", "C02"], ["70"], "第 2 条假设（大学英语）：请填写成绩"),
    (["C02"] * 21, ["60"] * 21, "假设最多 20 条（当前 21 条）"),
    (["C02" * 1000], ["60"], "课程不在该生的教学计划中"),
])
def test_what_if_validation(mixed, codes, scores, message):
    before = fingerprint()
    with pytest.raises(DomainError) as err:
        worksheet.worksheet(mixed, codes, scores)
    assert message in err.value.message
    assert fingerprint() == before


def test_twenty_hypotheses_are_allowed(mixed):
    """Twenty rows are accepted; the best of them (60) is the attempt that counts."""
    sheet = worksheet.worksheet(mixed, ["C02"] * 20, [str(41 + i) for i in range(20)])
    assert rows_by_code(sheet)["C02"]["score"] == "60" and sheet["verdict"]["result"] == "pre_graduate"


def test_degree_part_average_and_language(mixed):
    factories.degree_batch(course_average_mark=70, language_pass_mark=60)
    factories.language(mixed, 75)
    db.session.commit()
    d = worksheet.worksheet(mixed)["degree"]
    assert d is not None and d["batch_name"] == "2020级学位批次"
    assert [c["code"] for c in d["courses"]] == ["C01", "C02"]
    assert (d["average"], d["average_mark"], d["average_ok"]) == ("65", "70", False)  # (80 + 50) / 2
    assert d["language"] == {"text": "75", "passed": True, "mark": "60"}
    assert d["result_label"] == "未达标"
    assert any("学位课程不合格：大学英语 50" in r for r in d["reasons"])
    assert any("毕业审核结果为不合格" in r for r in d["reasons"])  # the live verdict stands for the official one
    d2 = worksheet.worksheet(mixed, ["C02"], ["70"])["degree"]
    assert (d2["average"], d2["average_ok"], d2["result_label"], d2["reasons"]) == ("75", True, "已达标", [])


def test_degree_part_language_below_the_batch_mark(mixed):
    factories.degree_batch(language_pass_mark=80)
    factories.language(mixed, 75)
    db.session.commit()
    d = worksheet.worksheet(mixed, ["C02"], ["90"])["degree"]
    assert d["language"] == {"text": "75", "passed": False, "mark": "80"}
    assert "学位外语成绩 75，低于合格线 80" in d["reasons"]


def test_no_degree_part_for_high_to_junior(world):
    plan = factories.plan(world.major1, Level.HIGH_TO_JUNIOR)
    s = factories.student(world.site1, world.major1, no="2020010010", name="赵十", level=Level.HIGH_TO_JUNIOR)
    db.session.commit()
    sheet = worksheet.worksheet(s)
    assert sheet["degree"] is None and sheet["plan"] is not None and plan.id


def test_student_without_plan(world):
    s = factories.student(world.site1, world.major1, no="2019010011", name="钱十一", grade=2019)
    db.session.commit()
    sheet = worksheet.worksheet(s)
    assert sheet["plan"] is None and sheet["course_choices"] == []
    assert "未找到该生对应的教学计划（专业/层次/年级）" in sheet["verdict"]["reasons"]
    with pytest.raises(DomainError, match="未找到该生对应的教学计划"):
        worksheet.worksheet(s, ["C02"], ["60"])


def test_conditions_the_batch_switched_off_are_not_missing(world):
    """A batch without the 毕业生登记表 and photo conditions: their absence is shown, not counted as missing."""
    batch = factories.graduation_batch()
    batch.require_form = False
    batch.require_photo = False
    s = factories.student(world.site1, world.major1, no="2020010012", name="孙十二", photo=False, form=None)
    factories.grades(s, factories.ALL_PASS)
    db.session.commit()
    sheet = worksheet.worksheet(s)
    assert sheet["verdict"]["result"] == "pre_graduate" and sheet["verdict"]["reasons"] == []
    assert (sheet["form_label"], sheet["form_ok"]) == ("未填写", True)
    assert (sheet["has_photo"], sheet["photo_ok"]) == (False, True)
    assert (sheet["conditions"].form, sheet["conditions"].photo) == (False, False)


def test_graduate_has_no_expected_outcome_but_a_degree_part(mixed):
    """A published graduate (学籍状态 毕业 too) is 已毕业: no 预计结论, the degree part counts the graduation."""
    factories.graduation_result(mixed, "pre_graduate", published=True)
    mixed.status = "graduated"
    factories.degree_batch()
    factories.language(mixed, 75)
    db.session.commit()
    sheet = worksheet.worksheet(mixed, ["C02"], ["90"])
    assert sheet["graduated"] is True
    d = sheet["degree"]
    assert (d["average"], d["result_label"], d["reasons"]) == ("85", "已达标", [])
