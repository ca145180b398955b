"""Teaching plans of the demo: a plan's courses drawn from its major's pools."""
from __future__ import annotations

import random
from dataclasses import dataclass

from app.demo.college import BACHELOR_LEVELS, FINAL_COURSE, PLAN_SHAPE, PUBLIC_COURSES, MajorSpec
from app.statuses import LEVEL_DURATION_YEARS, Level


@dataclass(frozen=True)
class Course:
    code: str
    name: str
    credits: float
    required: bool
    degree: bool
    term: int


@dataclass
class PlanSpec:
    courses: list[Course]
    min_elective: float

    @property
    def min_total(self) -> float:
        return sum(c.credits for c in self.courses if c.required) + self.min_elective


class PlanDraws:
    """The generator's draws for plans (mixed into ``Generator``, which owns ``rng`` and the code tables)."""

    rng: random.Random
    _codes: dict[str, str]
    _next_code: dict[str, int]

    def course_code(self, name: str, prefix: str) -> str:
        """One code per course name across majors, so shared courses (管理学原理 …) share their code."""
        if name not in self._codes:
            self._next_code[prefix] += 1
            self._codes[name] = f"{prefix}{self._next_code[prefix]:04d}"
        return self._codes[name]

    def plan_template(self, major: MajorSpec, level: Level) -> PlanSpec:
        """Courses of a (major, level): public courses, core, electives and the final thesis/practice."""
        rng = self.rng
        terms = int(LEVEL_DURATION_YEARS[level] * 2)
        n_core, n_elective = PLAN_SHAPE[level]
        public = [(n, c) for n, c in PUBLIC_COURSES[level]
                  if (n != "高等数学" or major.maths) and not (n == "计算机应用基础" and major.code == "080901")]
        core_idx = sorted(rng.sample(range(len(major.core)), min(n_core, len(major.core))))
        # the first core courses are the discipline's foundations: keep the first one always
        if 0 not in core_idx:
            core_idx = [0] + core_idx[1:]
        core = [major.core[i] for i in core_idx]
        electives = rng.sample(major.electives, min(n_elective, len(major.electives)))
        bachelor = level in BACHELOR_LEVELS
        n_degree_core = rng.randint(1, 3) if bachelor else 0

        courses: list[Course] = []
        public_terms = max(2, terms // 3)
        for i, (name, credits) in enumerate(public):
            courses.append(Course(self.course_code(name, "GG"), name, credits, True,
                                   bachelor and name == "大学英语", 1 + i % public_terms))
        for i, name in enumerate(core):
            term = 1 + (i * (terms - 1)) // max(1, len(core)) + (1 if terms > 5 else 0)
            credits = rng.choice((3, 3, 3, 4, 4, 2, 5))
            courses.append(Course(self.course_code(name, major.prefix), name, credits, True, i < n_degree_core,
                                   min(term, terms - 1)))
        for i, name in enumerate(electives):
            term = terms // 2 + i % max(1, terms - terms // 2 - 1)
            courses.append(Course(self.course_code(name, major.prefix), name, rng.choice((2, 2, 3)), False,
                                   False, max(2, min(term, terms - 1))))
        final_name, final_credits = FINAL_COURSE[level]
        courses.append(Course(self.course_code(final_name, "GG"), final_name, final_credits, True, False, terms))
        courses.sort(key=lambda c: (c.term, not c.required, c.code))
        elective_total = sum(c.credits for c in courses if not c.required)
        min_elective = max(4, min(rng.choice((4, 4, 5, 6, 6, 8)), elective_total - 2))
        assert 12 <= len(courses) <= 20, (major.name, level, len(courses))
        return PlanSpec(courses, float(min_elective))
