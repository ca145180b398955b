"""Sort keys of the degree lists that are figures, not columns: 学位外语成绩 and 学位课程平均分.

The lists show them computed in Python per page (``figures.language_text`` / ``average_text``); sorting
needs them in the list query, so each order column maps to the SQL form of its rule, which lives beside
the Python one in ``app.audit`` and is proven equal to it by tests/rules/test_degree_figures_sql.py.
The views order by each key in the chosen direction with NULLs last, then by id.
"""
from __future__ import annotations

from app.audit.degree import degree_course_average_sql
from app.audit.language import language_sort_sql
from app.models import CourseException, Grade, LanguageScore, PlanCourse, Student, TeachingPlan

# order column → its sort keys, correlated to the list query's ``Student`` (the applicant)
ORDER_EXPRESSIONS: dict[str, tuple] = {
    "language": language_sort_sql(Student, language_score=LanguageScore),
    "average": (degree_course_average_sql(Student, grade=Grade, plan=TeachingPlan, plan_course=PlanCourse,
                                          exception=CourseException),),
}
