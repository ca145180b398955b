"""Plans and best scores are read the same way by every workflow (app/services/facts.py)."""
from __future__ import annotations

from app.extensions import db
from app.services import degree, facts, graduation
from app.statuses import CourseNature, Level
from tests import factories


def test_a_repeating_student_follows_the_plan_of_the_study_grade(world):
    """After 留级 (学习年级 2021, 学籍年级 2020) both audits use the 2021 plan, not the 2020 one."""
    later = factories.plan(world.major1, Level.HIGH_TO_BACHELOR, 2021, min_total=4, min_elective=0, courses=[
        ("N01", "新课程", 4, CourseNature.REQUIRED, True),
    ])
    s = factories.student(world.site1, world.major1, no="2020019999", name="王留级")
    s.study_grade = 2021
    factories.grades(s, {"N01": 80})
    db.session.commit()

    assert facts.plan_key(s) == (world.major1.id, Level.HIGH_TO_BACHELOR.value, 2021)
    plan_id, plan = facts.load_plans([facts.plan_key(s)])[facts.plan_key(s)]
    assert plan_id == later.id and [c.code for c in plan.courses] == ["N01"]
    assert graduation.preview(s).ok
    assert degree.gather_facts([s])[s.id].plan == plan


def test_best_attempt_counts_across_exam_kinds(world):
    """A failed 正考 followed by a passed 补考: the best score (the 补考) is the course's score."""
    s = world.student1
    factories.grades(s, {"C01": 45}, term="2021-2022-1", kind="regular")
    factories.grades(s, {"C01": 72}, term="2021-2022-2", kind="makeup")
    assert facts.best_scores_for([s.id])[s.id] == {"C01": 72.0}


def test_keys_without_a_plan_are_absent(world):
    """No plan for (专业, 层次, 年级) means the key is simply missing (the rules then say no_plan)."""
    missing = (world.major1.id, Level.HIGH_TO_JUNIOR.value, 2099)
    assert missing not in facts.load_plans([missing])
