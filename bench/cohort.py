"""Synthetic cohort for the benchmark, written straight into the database with bulk inserts.

Shape (defaults at 100,000 students): 1 继续教育学院, 5 二级学院, 20 教学点, 20 majors × 3 层次 = 60 teaching
plans of 40 courses (30 必修, 10 选修, 6 学位课程), ≈38 grade rows per student (36 courses taken, failed
first attempts retaken once), 6 graduation batches, 2 degree batches: the current one with 30% of the
cohort applying, an earlier one holding the applications that bring the summary export to one row per
student. Deterministic for a given seed. SQLite uses executemany, PostgreSQL uses COPY.
"""
from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

SITES = 20
COLLEGES = 5
MAJORS = 20
LEVELS = (("gqb", 0.4), ("zsb", 0.4), ("gqz", 0.2))
BACHELOR = ("gqb", "zsb")
GRADE = 2021
REQUIRED, ELECTIVE = 30, 10
ELECTIVES_TAKEN = 6
FIRST_FAIL = 0.055  # a first attempt fails this often; the makeup passes 80% of the time
PHOTO = "photos/bench.jpg"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红"


@dataclass
class Cohort:
    """What was generated: counts and the ids the measurements need."""

    students: int = 0
    grades: int = 0
    plans: int = 0
    plan_courses: int = 0
    sites: list[int] = field(default_factory=list)
    ce_id: int = 0
    current_degree_batch: int = 0
    applications_current: int = 0
    applications_total: int = 0


def _chunks(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _to_copy(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def bulk(raw, dialect: str, table: str, cols: Sequence[str], rows: Iterable[tuple], size: int = 50_000) -> int:
    """Insert rows through the DBAPI connection: COPY on PostgreSQL, executemany elsewhere."""
    cur = raw.cursor()
    n = 0
    for batch in _chunks(rows, size):
        if dialect == "postgresql":
            buf = io.StringIO("".join("\t".join(_to_copy(v) for v in r) + "\n" for r in batch))
            cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN", buf)
        else:
            marks = ", ".join("?" for _ in cols)
            cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", batch)
        n += len(batch)
    cur.close()
    return n


def generate(raw, dialect: str, students: int, seed: int = 20240601, photo_share: float = 0.92) -> Cohort:
    """Fill an empty schema (organisations to degree applications) and commit."""
    rng = random.Random(seed)
    out = Cohort(students=students)
    now = dt.datetime.now().replace(microsecond=0)

    orgs = [(1, "CE", "继续教育学院", "ce", None)]
    orgs += [(1 + i, f"C{i:02d}", f"第{i}二级学院", "college", 1) for i in range(1, COLLEGES + 1)]
    site_ids = [100 + i for i in range(1, SITES + 1)]
    orgs += [(sid, f"S{sid}", f"第{sid - 100}教学点", "site", 1) for sid in site_ids]
    bulk(raw, dialect, "organisation", ("id", "code", "name", "kind", "parent_id"), orgs)
    out.sites, out.ce_id = site_ids, 1

    majors = [(m, f"M{m:03d}", f"专业{m:02d}", 2 + (m - 1) % COLLEGES) for m in range(1, MAJORS + 1)]
    bulk(raw, dialect, "major", ("id", "code", "name", "college_id"), majors)
    college_of = {m[0]: m[3] for m in majors}

    plans, courses = [], []
    plan_of: dict[tuple[int, str], int] = {}
    plan_courses: dict[int, list[tuple[str, str, float, bool, bool]]] = {}
    pid, cid = 0, 0
    for m, *_ in majors:
        for level, _share in LEVELS:
            pid += 1
            lst = []
            for k in range(REQUIRED + ELECTIVE):
                required = k < REQUIRED
                credits = (2.5, 3.0, 3.5, 4.0)[k % 4] if required else 2.0
                lst.append((f"K{pid:02d}{k:02d}", f"课程{pid}-{k}", credits, required, required and k < 6))
            req_credits = sum(c[2] for c in lst if c[3])
            plans.append((pid, m, level, GRADE, req_credits + 8.0, 8.0))
            plan_of[(m, level)] = pid
            plan_courses[pid] = lst
            for k, (code, name, credits, required, degree) in enumerate(lst):
                cid += 1
                nature = "required" if required else "elective"
                courses.append((cid, pid, code, name, credits, nature, degree, 1 + k // 8))
    bulk(raw, dialect, "teaching_plan",
         ("id", "major_id", "level", "grade", "min_total_credits", "min_elective_credits"), plans)
    bulk(raw, dialect, "plan_course", ("id", "plan_id", "course_code", "course_name", "credits", "nature",
                                       "is_degree_course", "suggested_term"), courses)
    out.plans, out.plan_courses = len(plans), len(courses)

    batches = []
    for i, (level, _s) in enumerate(LEVELS):
        for j, enrol in enumerate((GRADE, GRADE - 1)):
            batches.append((1 + 2 * i + j, f"{enrol}级{level}毕业批次", enrol, GRADE, level, True, True, True,
                            now - dt.timedelta(days=5), now + dt.timedelta(days=5), 2024, dt.date(2024, 7, 1)))
    bulk(raw, dialect, "graduation_batch", ("id", "name", "enrol_grade", "study_grade", "level", "require_plan_courses",
                                            "require_form", "require_photo", "confirm_start", "confirm_end",
                                            "diploma_year", "graduation_date"), batches)
    bulk(raw, dialect, "degree_batch", ("id", "name", "enrol_grade", "level", "apply_start", "apply_end",
                                        "language_pass_mark", "course_average_mark", "year", "grant_date"), [
        (1, f"{GRADE}级学位批次（上一轮）", GRADE, None, now - dt.timedelta(days=400), now - dt.timedelta(days=390),
         60, 70, 2023, dt.date(2023, 6, 30)),
        (2, f"{GRADE}级学位批次", GRADE, None, now - dt.timedelta(days=5), now + dt.timedelta(days=5),
         60, 70, 2024, dt.date(2024, 6, 30)),
    ])
    out.current_degree_batch = 2

    levels = [lv for lv, _ in LEVELS]
    weights = [w for _, w in LEVELS]
    student_rows, forms, grade_rows_count = [], [], 0
    meta: list[tuple[int, str, int]] = []  # (id, level, plan)
    for i in range(1, students + 1):
        level = rng.choices(levels, weights)[0]
        major = rng.randint(1, MAJORS)
        site = site_ids[(i - 1) % SITES]
        enrol = GRADE if rng.random() > 0.02 else GRADE - 1
        status = "enrolled" if rng.random() > 0.03 else rng.choice(("suspended", "withdrawn"))
        female = rng.random() < 0.5
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        birth = dt.date(1990, 1, 1) + dt.timedelta(days=rng.randint(0, 3650))
        id_card = f"320{site:03d}{birth:%Y%m%d}{i % 1000:03d}X"
        student_rows.append((
            i, f"{GRADE}{i:07d}", name, "女" if female else "男", id_card, birth, "汉族", "群众",
            f"139{i:08d}", enrol, GRADE, level, major, college_of[major], "hanshou", 2.5, site, status,
            dt.date(enrol, 3, 1), PHOTO if rng.random() < photo_share else None, 0, 0.0, None,
        ))
        r = rng.random()
        if r < 0.90:
            forms.append((i, "自我鉴定" * 20, "submitted", now))
        elif r < 0.95:
            forms.append((i, "草稿", "draft", None))
        meta.append((i, level, plan_of[(major, level)]))
    bulk(raw, dialect, "student", (
        "id", "student_no", "name", "gender", "id_card", "birth_date", "ethnicity", "political_status", "mobile",
        "enrol_grade", "study_grade", "level", "major_id", "college_id", "study_mode", "duration_years", "site_id",
        "status", "enrolled_on", "photo_path", "passed_courses", "earned_credits", "synced_at"), student_rows)
    del student_rows
    bulk(raw, dialect, "graduate_form", ("student_id", "self_assessment", "state", "submitted_at"), forms)
    del forms

    def grade_rows() -> Iterator[tuple]:
        gid = 0
        for sid, _level, plan in meta:
            lst = plan_courses[plan]
            taken = lst[:REQUIRED] + rng.sample(lst[REQUIRED:], ELECTIVES_TAKEN)
            for k, (code, name, _credits, _req, _deg) in enumerate(taken):
                term = f"{GRADE + k // 12}-{GRADE + k // 12 + 1}-{1 + (k // 6) % 2}"
                if rng.random() < FIRST_FAIL:
                    score = rng.randint(30, 59)
                    gid += 1
                    yield (gid, sid, code, name, term, float(score), str(score), "regular")
                    score = rng.randint(60, 85) if rng.random() < 0.8 else rng.randint(40, 59)
                    gid += 1
                    yield (gid, sid, code, name, term, float(score), str(score), "makeup")
                else:
                    score = rng.randint(60, 98)
                    gid += 1
                    yield (gid, sid, code, name, term, float(score), str(score), "regular")

    grade_rows_count = bulk(raw, dialect, "grade", ("id", "student_id", "course_code", "course_name", "term", "score",
                                                    "raw_score", "exam_kind"), grade_rows(), size=200_000)
    out.grades = grade_rows_count

    bachelors = [sid for sid, level, _p in meta if level in BACHELOR]
    rng.shuffle(bachelors)
    language = [(sid, dt.date(2023, 5, 20), float(rng.randint(40, 95)), None, None, False) for sid in bachelors]
    bulk(raw, dialect, "language_score",
         ("student_id", "exam_date", "score", "substitute", "substitute_score", "passed"), language)
    current = bachelors[: int(students * 0.3)]
    earlier = bachelors[: max(0, min(len(bachelors), students - len(current)))]
    apps = [(2, sid, now, "unaudited") for sid in current] + [(1, sid, now - dt.timedelta(days=395), "unaudited")
                                                               for sid in earlier]
    bulk(raw, dialect, "degree_application", ("batch_id", "student_id", "applied_at", "result"), apps)
    out.applications_current, out.applications_total = len(current), len(apps)

    if dialect == "postgresql":
        cur = raw.cursor()
        for table in ("organisation", "major", "teaching_plan", "plan_course", "graduation_batch", "degree_batch",
                      "student", "grade", "graduate_form", "language_score", "degree_application"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table}), 1))")
        cur.execute("ANALYZE")
        cur.close()
    else:
        raw.execute("ANALYZE") if hasattr(raw, "execute") else None
    raw.commit()
    return out
