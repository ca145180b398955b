"""``seed_demo``: write the drawn college into the database in one transaction."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select

from app import storage
from app.clock import local_today
from app.demo.college import (
    BACHELOR_LEVELS,
    CE_ORG,
    COLLEGES,
    DEMO_MAJOR,
    DEMO_PASSWORD,
    DEMO_STUDENT_NO,
    GQB,
    GQZ,
    GRADES,
    LEVEL_WEIGHTS,
    MAJOR_BY_CODE,
    MAJORS,
    NO_PLAN,
    SITE_WEIGHTS,
    SITES,
    ZSB,
)
from app.demo.generator import Generator
from app.demo.people import DEMO_ACCOUNTS, OTHER_STUDENT_ACCOUNTS, StudentSpec, demo_photo_bytes, pick
from app.demo.plans import PlanSpec
from app.extensions import db
from app.models import (
    Account,
    DegreeApplication,
    DegreeBatch,
    Grade,
    GraduateForm,
    GraduationBatch,
    LanguageScore,
    Major,
    Organisation,
    PlanCourse,
    Student,
    TeachingPlan,
)
from app.models.base import utcnow
from app.services.accounts import create_account
from app.services.errors import DomainError
from app.statuses import (
    CourseNature,
    DegreeConditionResult,
    EnrolmentStatus,
    FormState,
    Level,
    OrgKind,
    RoleName,
    StudyMode,
)


def has_data() -> bool:
    """True when the database already holds organisations (so a demo load would collide)."""
    return db.session.query(Organisation.id).first() is not None


def _counted(n: int, share: float) -> int:
    """How many of n get a trait of the given share; at least one, so small demos show every case."""
    return max(1, round(n * share)) if n else 0


def seed_demo(students: int = 2000, seed: int = 20240501) -> dict:
    """Load the demo college and commit.

    Args:
        students: Number of students (at least 20).
        seed: Seed of the one random generator all values come from.

    Returns:
        Counts of the rows written, keyed by table (organisations, majors, plans, students, grades, accounts …).

    Raises:
        DomainError: When the database already holds data.
    """
    if students < 20:
        raise ValueError("演示数据至少需要 20 名学生")
    if has_data():
        raise DomainError("数据库中已有数据，未加载演示数据")
    today = local_today()
    gen = Generator(seed, today)
    rng = gen.rng

    # organisations
    ce = Organisation(code=CE_ORG[0], name=CE_ORG[1], kind=OrgKind.CE.value)
    db.session.add(ce)
    db.session.flush()
    orgs: dict[str, Organisation] = {ce.code: ce}
    for code, name in COLLEGES:
        orgs[code] = Organisation(code=code, name=name, kind=OrgKind.COLLEGE.value, parent_id=ce.id)
    for code, name, _regions in SITES:
        orgs[code] = Organisation(code=code, name=name, kind=OrgKind.SITE.value, parent_id=ce.id)
    db.session.add_all(list(orgs.values())[1:])
    db.session.flush()
    site_ids = [orgs[code].id for code, _n, _r in SITES]

    # majors and teaching plans
    majors: dict[str, Major] = {}
    for spec in MAJORS:
        majors[spec.code] = Major(code=spec.code, name=spec.name, college_id=orgs[spec.college].id)
    db.session.add_all(majors.values())
    db.session.flush()
    templates: dict[tuple[str, Level], PlanSpec] = {}
    for spec in MAJORS:
        for level in spec.levels:
            templates[(spec.code, level)] = gen.plan_template(spec, level)
    no_plan_template = gen.plan_template(MAJOR_BY_CODE[NO_PLAN[0]], NO_PLAN[1])
    plan_rows, course_rows = [], []
    for (major_code, level), template in templates.items():
        for grade in GRADES:
            plan_rows.append({"major_id": majors[major_code].id, "level": level.value, "grade": grade,
                              "min_total_credits": template.min_total,
                              "min_elective_credits": template.min_elective})
    db.session.execute(TeachingPlan.__table__.insert(), plan_rows)
    plan_ids = {(m, lv, g): pid for pid, m, lv, g in db.session.execute(
        select(TeachingPlan.id, TeachingPlan.major_id, TeachingPlan.level, TeachingPlan.grade))}
    major_code_by_id = {m.id: code for code, m in majors.items()}
    for (major_id, level, _grade), pid in sorted(plan_ids.items(), key=lambda kv: kv[1]):
        template = templates[(major_code_by_id[major_id], Level(level))]
        for course in template.courses:
            course_rows.append({"plan_id": pid, "course_code": course.code, "course_name": course.name,
                                "credits": float(course.credits),
                                "nature": (CourseNature.REQUIRED if course.required else CourseNature.ELECTIVE).value,
                                "is_degree_course": course.degree, "suggested_term": course.term})
    db.session.execute(PlanCourse.__table__.insert(), course_rows)

    # students: the demo student, the 2020级 高起本 cohort of the first site, the no-plan few, everyone else
    specs: list[StudentSpec] = []
    demo_major = MAJOR_BY_CODE[DEMO_MAJOR]
    demo_row = gen.student_row(site=0, major=demo_major, level=GQB, enrol=2020, study=2020,
                               status=EnrolmentStatus.ENROLLED, female=False)
    demo_row["study_mode"] = StudyMode.CORRESPONDENCE.value
    specs.append(StudentSpec(demo_row, 0, templates[(DEMO_MAJOR, GQB)], profile="demo", language=True))

    n_no_plan = 4
    n_cohort = min(students - 1 - n_no_plan, max(20, round(students * 0.04)))
    gqb_majors = [m for m in MAJORS if GQB in m.levels]
    profiles = (["fail_required"] * _counted(n_cohort, 0.08) + ["fail_two"] * _counted(n_cohort, 0.02)
                + ["short_electives"] * _counted(n_cohort, 0.05))
    profiles += ["ok"] * (n_cohort - len(profiles))
    rng.shuffle(profiles)
    no_photo = set(rng.sample(range(n_cohort), _counted(n_cohort, 0.08)))
    no_form = rng.sample(range(n_cohort), _counted(n_cohort, 0.08))
    draft_form = set(no_form[: (len(no_form) + 1) // 2])
    no_form = set(no_form) - draft_form
    not_enrolled = rng.sample(range(n_cohort), round(n_cohort * 0.03))
    for i in range(n_cohort):
        major = rng.choice(gqb_majors)
        status = EnrolmentStatus.ENROLLED
        if i in not_enrolled:
            status = EnrolmentStatus.SUSPENDED if not_enrolled.index(i) % 2 == 0 else EnrolmentStatus.WITHDRAWN
        row = gen.student_row(site=0, major=major, level=GQB, enrol=2020, study=2020, status=status)
        form = None if i in no_form else FormState.DRAFT.value if i in draft_form else FormState.SUBMITTED.value
        specs.append(StudentSpec(row, 0, templates[(major.code, GQB)], profile=profiles[i],
                                  photo=i not in no_photo, form=form, language=rng.random() < 0.75))

    no_plan_major = MAJOR_BY_CODE[NO_PLAN[0]]
    for site in (0, 0, 1, 2)[:n_no_plan]:
        row = gen.student_row(site=site, major=no_plan_major, level=NO_PLAN[1], enrol=NO_PLAN[2],
                              study=NO_PLAN[2], status=EnrolmentStatus.ENROLLED)
        specs.append(StudentSpec(row, site, no_plan_template, profile="ok", language=rng.random() < 0.7))

    by_level = {lv: [m for m in MAJORS if lv in m.levels] for lv in Level}
    for _ in range(students - len(specs)):
        level = pick(rng, LEVEL_WEIGHTS.items())
        major = rng.choice(by_level[level])
        enrol = pick(rng, zip(GRADES, (0.22, 0.26, 0.26, 0.26), strict=True))
        site = pick(rng, zip(range(len(SITES)), SITE_WEIGHTS, strict=True))
        if (enrol, level, site) == (2020, GQB, 0):
            site = rng.randrange(1, len(SITES))  # the first site's 2020级 高起本 cohort is built above
        study = enrol + 1 if enrol < GRADES[-1] and rng.random() < 0.03 else enrol  # 留级
        r = rng.random()
        status = (EnrolmentStatus.ENROLLED if r < 0.955 else
                  EnrolmentStatus.SUSPENDED if r < 0.98 else EnrolmentStatus.WITHDRAWN)
        row = gen.student_row(site=site, major=major, level=level, enrol=enrol, study=study, status=status)
        r = rng.random()
        form = FormState.SUBMITTED.value if r < 0.85 else FormState.DRAFT.value if r < 0.93 else None
        specs.append(StudentSpec(row, site, templates[(major.code, level)], photo=rng.random() < 0.92,
                                  form=form, language=level in BACHELOR_LEVELS and rng.random() < 0.70))

    # 学号: YYYY + site number + sequence per (grade, site); the demo student comes first: 2020010001
    sequence: dict[tuple[int, int], int] = defaultdict(int)
    photo_path = storage.save("photos", demo_photo_bytes(), ".jpg")
    student_rows = []
    for spec in specs:
        row = spec.row
        key = (row["enrol_grade"], spec.site)
        sequence[key] += 1
        row["student_no"] = f"{row['enrol_grade']}{spec.site + 1:02d}{sequence[key]:04d}"
        major = majors[row.pop("major_code")]
        row["major_id"] = major.id
        row["college_id"] = major.college_id
        row["site_id"] = site_ids[spec.site]
        row["photo_path"] = photo_path if spec.photo else None
        student_rows.append(row)
    assert specs[0].row["student_no"] == DEMO_STUDENT_NO
    db.session.execute(Student.__table__.insert(), student_rows)
    ids = dict(db.session.execute(select(Student.student_no, Student.id)).all())

    # grades, 学位外语, 毕业生登记表
    grade_rows, language_rows, form_rows = [], [], []
    major_names = {m.id: m.name for m in majors.values()}
    now_utc = utcnow()
    for spec in specs:
        sid = ids[spec.row["student_no"]]
        grade_rows.extend(gen.grades_for(sid, spec))
        if spec.language and Level(spec.row["level"]) in BACHELOR_LEVELS:
            language_rows.extend(gen.language_for(sid, spec))
        if spec.form is not None:
            submitted = spec.form == FormState.SUBMITTED.value
            form_rows.append({
                "student_id": sid,
                "self_assessment": gen.self_assessment(spec.row, major_names[spec.row["major_id"]], submitted),
                "state": spec.form,
                "submitted_at": now_utc - dt.timedelta(days=rng.randint(3, 90), minutes=rng.randint(0, 1440))
                if submitted else None,
            })
    db.session.execute(Grade.__table__.insert(), grade_rows)
    if language_rows:
        db.session.execute(LanguageScore.__table__.insert(), language_rows)
    db.session.execute(GraduateForm.__table__.insert(), form_rows)

    # batches: open windows for the current 2020级 batches, the manual's closed window for 2019级
    day = dt.datetime.combine(today, dt.time.min)
    year = today.year
    open_window = {"confirm_start": day - dt.timedelta(days=7), "confirm_end": day + dt.timedelta(days=30),
                   "diploma_year": year, "graduation_date": dt.date(year, 12, 31)}
    batches = [
        GraduationBatch(name="2020级高起本毕业批次（当前）", enrol_grade=2020, study_grade=2020, level=GQB.value,
                        **open_window),
        GraduationBatch(name="2020级专升本毕业批次（当前）", enrol_grade=2020, study_grade=2020, level=ZSB.value,
                        **open_window),
        GraduationBatch(name="2020级高起专毕业批次（当前）", enrol_grade=2020, study_grade=2020, level=GQZ.value,
                        **open_window),
        GraduationBatch(name="2019级高起本毕业批次（已截止）", enrol_grade=2019, study_grade=2019, level=GQB.value,
                        confirm_start=dt.datetime(2024, 11, 25), confirm_end=dt.datetime(2024, 12, 6),
                        diploma_year=2024, graduation_date=dt.date(2024, 12, 31)),
    ]
    degree_batch = DegreeBatch(name="2020级学士学位批次", enrol_grade=2020, level=None,
                               apply_start=day - dt.timedelta(days=7), apply_end=day + dt.timedelta(days=30),
                               language_pass_mark=60, course_average_mark=70, year=year)
    db.session.add_all([*batches, degree_batch])
    db.session.flush()

    # 学位申请 already made by part of the 2020级 本科 students (not the demo student: they apply in the demo)
    application_rows = []
    for spec in specs[1:]:
        row = spec.row
        if (row["enrol_grade"] == 2020 and Level(row["level"]) in BACHELOR_LEVELS
                and row["status"] == EnrolmentStatus.ENROLLED.value and rng.random() < 0.6):
            application_rows.append({"batch_id": degree_batch.id, "student_id": ids[row["student_no"]],
                                     "applied_at": now_utc - dt.timedelta(days=rng.randint(0, 6),
                                                                          minutes=rng.randint(0, 1440)),
                                     "result": DegreeConditionResult.UNAUDITED.value})
    if application_rows:
        db.session.execute(DegreeApplication.__table__.insert(), application_rows)

    # accounts: staff and the demo student with DEMO_PASSWORD; a few students with the initial password
    for username, name, role, org_code, mobile in DEMO_ACCOUNTS:
        create_account(username=username, name=name, role=role, mobile=mobile, org_id=orgs[org_code].id,
                       password=DEMO_PASSWORD, must_change_password=False)
    create_account(username=DEMO_STUDENT_NO, name=demo_row["name"], role=RoleName.STUDENT,
                   mobile=demo_row["mobile"], student_id=ids[DEMO_STUDENT_NO], password=DEMO_PASSWORD,
                   must_change_password=False)
    others = [s.row for s in specs[1:] if s.site == 0 and s.row["enrol_grade"] == 2020]
    for row in others[:OTHER_STUDENT_ACCOUNTS]:
        create_account(username=row["student_no"], name=row["name"], role=RoleName.STUDENT, mobile=row["mobile"],
                       student_id=ids[row["student_no"]])

    db.session.commit()
    return {
        "organisations": len(orgs),
        "majors": len(majors),
        "plans": len(plan_rows),
        "plan_courses": len(course_rows),
        "students": len(student_rows),
        "grades": len(grade_rows),
        "language_scores": len(language_rows),
        "graduate_forms": len(form_rows),
        "graduation_batches": len(batches),
        "degree_batches": 1,
        "degree_applications": len(application_rows),
        "accounts": db.session.scalar(select(func.count(Account.id))),
    }
