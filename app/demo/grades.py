"""Grades and 学位外语 scores of the demo: pass, 补考, 重修 or still failed, in believable shares."""
from __future__ import annotations

import datetime as dt
import random

from app.audit.language import language_passed
from app.audit.scores import parse_score
from app.demo.people import StudentSpec
from app.demo.plans import Course
from app.demo.terms import second_saturday, term_name
from app.statuses import PASS_SCORE, ExamKind, SubstituteExam


def word_for(score: float) -> str:
    if score >= 90:
        return "优"
    if score >= 80:
        return "良"
    if score >= 70:
        return "中"
    return "及格"


class GradeDraws:
    """The generator's draws for grades (mixed into ``Generator``, which owns ``rng`` and ``today``;
    ``terms_done`` comes from ``PeopleDraws``)."""

    rng: random.Random
    today: dt.date

    def _pass_score(self, lo: int = 60) -> int:
        return max(lo, min(98, round(self.rng.gauss(79, 8))))

    def _grade(self, sid: int, course: Course, term: str, kind: ExamKind, score: int, words: bool = True) -> dict:
        raw = str(score)
        if words and score >= PASS_SCORE and self.rng.random() < 0.10:
            raw = word_for(score)
        return {"student_id": sid, "course_code": course.code, "course_name": course.name, "term": term,
                "score": parse_score(raw), "raw_score": raw, "exam_kind": kind.value}

    def attempts(self, sid: int, course: Course, grade: int, done: int, outcome: str,
                 words: bool = True) -> list[dict]:
        """The exam attempts of one course: pass, pass at 补考, pass at 重修, or still failed."""
        rng = self.rng
        term = term_name(grade, course.term)
        if outcome == "pass":
            return [self._grade(sid, course, term, ExamKind.REGULAR, self._pass_score(), words)]
        if outcome == "demo":
            return [self._grade(sid, course, term, ExamKind.REGULAR, rng.randint(76, 93), False)]
        rows = [self._grade(sid, course, term, ExamKind.REGULAR, rng.randint(30, 59) if outcome != "fail"
                            else rng.randint(45, 59))]
        if outcome == "makeup":
            rows.append(self._grade(sid, course, term, ExamKind.MAKEUP, rng.randint(60, 78), words))
        elif outcome == "retake":
            if rng.random() < 0.5:
                rows.append(self._grade(sid, course, term, ExamKind.MAKEUP, rng.randint(40, 59)))
            retake_term = term_name(grade, min(course.term + 2, max(done, course.term)))
            rows.append(self._grade(sid, course, retake_term, ExamKind.RETAKE, rng.randint(60, 85), words))
        elif outcome == "fail" and rng.random() < 0.5:
            rows.append(self._grade(sid, course, term, ExamKind.MAKEUP, rng.randint(40, 59)))
        return rows

    def random_outcome(self, controlled: bool) -> str:
        """~6% of 正考 fail; most failures are made good at 补考 or 重修; uncontrolled ones may stay failed."""
        r = self.rng.random()
        if r < 0.94:
            return "pass"
        if r < 0.978:
            return "makeup"
        if r < 0.994 or controlled:
            return "retake"
        return "fail"

    def grades_for(self, sid: int, spec: StudentSpec) -> list[dict]:
        rng = self.rng
        row = spec.row
        done = self.terms_done(row)
        plan = spec.plan
        required = [c for c in plan.courses if c.required]
        electives = [c for c in plan.courses if not c.required]
        rng.shuffle(electives)
        chosen, credits = [], 0.0
        for course in electives:
            if credits >= plan.min_elective:
                break
            chosen.append(course)
            credits += course.credits
        short = spec.profile == "short_electives" or (spec.profile == "random" and rng.random() < 0.02)
        if short and chosen:
            chosen.pop()  # one elective short of the minimum
        elif len(chosen) < len(electives) and rng.random() < 0.15:
            chosen.append(electives[len(chosen)])  # an extra elective
        failing: set[str] = set()
        last_term = max(c.term for c in required)  # the thesis / practice is not the course they fail
        candidates = [c for c in required if c.term <= done and c.term < last_term]
        if spec.profile == "fail_required" and candidates:
            failing = {rng.choice(candidates).code}
        elif spec.profile == "fail_two" and len(candidates) >= 2:
            failing = {c.code for c in rng.sample(candidates, 2)}
        rows: list[dict] = []
        controlled = spec.profile != "random"
        for course in sorted(required + chosen, key=lambda c: (c.term, c.code)):
            if course.term > done:
                continue
            if spec.profile == "demo":
                outcome = "demo"
            elif course.code in failing:
                outcome = "fail"
            else:
                outcome = self.random_outcome(controlled)
            rows.extend(self.attempts(sid, course, row["study_grade"], done, outcome))
        return rows

    def language_for(self, sid: int, spec: StudentSpec) -> list[dict]:
        """学位外语: one sitting (score 40–90, sometimes a second one after a fail) or a CET-4 substitute."""
        rng = self.rng
        if spec.profile == "demo":
            return [{"student_id": sid, "exam_date": second_saturday(2023, 5), "score": 72.0, "substitute": None,
                     "substitute_score": None, "passed": language_passed(72.0)}]
        first_year = spec.row["study_grade"] + 1
        sittings = [d for y in range(first_year, self.today.year + 1) for d in
                    (second_saturday(y, 5), second_saturday(y, 11)) if d <= self.today]
        if not sittings:
            return []
        if rng.random() < 0.12:
            cet = [d for y in range(spec.row["study_grade"], self.today.year + 1)
                   for d in (second_saturday(y, 6), second_saturday(y, 12)) if d <= self.today]
            rows = [{"student_id": sid, "exam_date": rng.choice(cet), "score": None,
                     "substitute": SubstituteExam.CET4.value, "substitute_score": float(rng.randint(425, 600))}]
            rows[0]["passed"] = language_passed(None, rows[0]["substitute"], rows[0]["substitute_score"])
            return rows
        rows = []
        i = rng.randrange(len(sittings))
        score = max(40, min(90, round(rng.gauss(68, 11))))
        rows.append({"student_id": sid, "exam_date": sittings[i], "score": float(score), "substitute": None,
                     "substitute_score": None, "passed": language_passed(float(score))})
        if score < 60 and i + 1 < len(sittings) and rng.random() < 0.5:
            again = max(40, min(90, round(rng.gauss(70, 8))))
            rows.append({"student_id": sid, "exam_date": sittings[i + 1], "score": float(again),
                         "substitute": None, "substitute_score": None,
                         "passed": language_passed(float(again))})
        return rows
