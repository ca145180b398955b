"""The audit facts every workflow reads the same way: teaching plans and best scores.

One place decides which plan a student follows — (专业, 层次, 学习年级): after 留级 a student follows
the plan of the cohort they now study with — and how attempts combine (the best one counts).
Graduation, degree, exports and the record pages all load these through here, in set queries.
"""
from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from sqlalchemy import func, select, tuple_
from sqlalchemy.sql import sqltypes

from app.audit.types import ApprovedException, Plan
from app.audit.types import PlanCourse as RulePlanCourse
from app.clock import to_local
from app.extensions import db
from app.models import CourseException, Grade, PlanCourse, TeachingPlan
from app.services.common import chunks
from app.statuses import CourseNature, ExceptionStatus

PlanKey = tuple[int, str, int]


def plan_key(student) -> PlanKey:
    """(专业, 层次, 学习年级) of a student (model or row with major_id, level, study_grade)."""
    return (student.major_id, student.level, student.study_grade)


def rule_course(c) -> RulePlanCourse:
    return RulePlanCourse(c.course_code, c.course_name, float(c.credits),
                          c.nature == CourseNature.REQUIRED.value, bool(c.is_degree_course))


def rule_plan(plan: TeachingPlan) -> Plan:
    """The plain-value plan the pure rules work on."""
    return Plan(float(plan.min_total_credits), float(plan.min_elective_credits or 0),
                tuple(rule_course(c) for c in plan.courses))


@contextmanager
def _raw_cursor(conn, statement: str):
    """A DBAPI cursor of the session's connection (COPY, ``execute_values``, plain fetches), whose errors
    are raised as SQLAlchemy raises a statement's: wrapped in ``DBAPIError`` and, for a lost connection,
    with the connection invalidated and ``connection_invalidated`` set. The task runner tells a database
    restart from a failing statement by that, whichever path the statement took."""
    from sqlalchemy.exc import DBAPIError

    dbapi = conn.dialect.loaded_dbapi
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        yield cursor
    except dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, raw, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(statement, None, exc, dbapi.Error, connection_invalidated=lost,
                                  dialect=conn.dialect) from exc
    finally:
        try:
            cursor.close()
        except dbapi.Error:  # the connection is gone; nothing left to close
            pass


def bulk_insert(table, rows: list[dict]) -> None:
    """Append many rows to ``table`` in the session's transaction, as fast as the driver allows.

    On PostgreSQL (psycopg2) the rows go through ``COPY … FROM STDIN``: about five times the speed
    of multi-row INSERTs, which matters when an audit writes 300,000 rows. Elsewhere an executemany.
    Like an executemany, every row names the same columns; the others get their column default
    (Python-side defaults included) exactly as ``table.insert()`` would.
    """
    if not rows:
        return
    db.session.flush()
    conn = db.session.connection()
    if conn.dialect.driver != "psycopg2":
        conn.execute(table.insert(), rows)
        return
    names = list(rows[0])
    values_of: dict[str, list] = {n: [row[n] for row in rows] for n in names}
    for c in table.columns:  # the defaults ``table.insert()`` would fill in
        if c.name not in values_of and c.default is not None and (c.default.is_scalar or c.default.is_callable):
            values_of[c.name] = ([c.default.arg] * len(rows) if c.default.is_scalar
                                 else [c.default.arg(None) for _ in rows])
    columns = list(values_of)
    # encoded column by column (a map per column is far cheaper than a call per cell), joined row-wise
    encoded = [_copy_column(table.c[n].type, values_of[n]) for n in columns]
    buf = io.StringIO("\n".join(map("\t".join, zip(*encoded, strict=True))) + "\n")
    cols = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in columns)
    copy = f"COPY {conn.dialect.identifier_preparer.format_table(table)} ({cols}) FROM STDIN"
    with _raw_cursor(conn, copy) as cursor:
        cursor.copy_expert(copy, buf)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _copy_text(value) -> str:
    """Text in COPY's text format: backslash escapes for the separators; ``\\N`` is NULL."""
    if value is None:
        return _NULL
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:  # rare: skip the slow translate
        return text.translate(_COPY_ESCAPES)
    return text


def _copy_json(value) -> str:
    if value is None:
        return _NULL
    # json.dumps escapes control characters and non-ASCII itself: only its backslashes need doubling
    return "[]" if value == [] else json.dumps(value).replace("\\", "\\\\")


def _copy_time(value) -> str:
    if value is None:
        return _NULL
    return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()


def _copy_column(type_, values: list) -> list[str]:
    """One column's values in COPY's text format (JSON serialised as SQLAlchemy's JSON type would)."""
    if isinstance(type_, sqltypes.JSON):
        return list(map(_copy_json, values))
    if isinstance(type_, sqltypes.Boolean):
        return [_NULL if v is None else ("t" if v else "f") for v in values]
    if isinstance(type_, (sqltypes.Integer, sqltypes.Numeric)):
        return list(map(str, values)) if None not in values else [_NULL if v is None else str(v) for v in values]
    if isinstance(type_, (sqltypes.DateTime, sqltypes.Date)):
        memo: dict = {}  # jobs stamp thousands of rows with the same time: format each value once
        return [memo[v] if v in memo else memo.setdefault(v, _copy_time(v)) for v in values]
    return list(map(_copy_text, values))


def raw_rows(stmt) -> list[tuple]:
    """Plain tuples of a Core SELECT, fetched through the DBAPI cursor of the session's connection.

    For the few statements that return millions of rows per audit (best scores): skipping the
    ORM and Row layers is most of the audit's Python time. Same transaction as the session.
    """
    db.session.flush()  # what autoflush would do before a session query
    conn = db.session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    with _raw_cursor(conn, compiled.string) as cursor:
        cursor.execute(compiled.string, params)
        return cursor.fetchall()


def best_scores_for(student_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """Best score per student and course code over all attempts (正考/补考/重修), in one grouped query.

    Reads only the covering index ``ix_grade_best`` (student, course, score). On PostgreSQL the
    (course, best) pairs come back as two arrays per student: 36 times fewer rows to move into
    Python than one row per course, which is most of what this costs at a year's cohort.
    """
    out: dict[int, dict[str, float]] = {sid: {} for sid in student_ids}
    if not student_ids:
        return out
    per_course = (
        select(Grade.student_id.label("sid"), Grade.course_code.label("code"), func.max(Grade.score).label("best"))
        .where(Grade.student_id.in_(list(student_ids)))
        .group_by(Grade.student_id, Grade.course_code)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        best = per_course.subquery()
        stmt = select(best.c.sid, func.array_agg(best.c.code), func.array_agg(best.c.best)).group_by(best.c.sid)
        for sid, codes, scores in raw_rows(stmt):
            out[sid] = dict(zip(codes, scores, strict=True))
        return out
    for sid, code, score in raw_rows(per_course):
        bucket = out.get(sid)
        if bucket is None:
            bucket = out[sid] = {}
        bucket[code] = float(score)
    return out


def approved_exceptions_for(student_ids: Sequence[int]) -> dict[int, dict[str, ApprovedException]]:
    """The approved course exceptions (课程替代 / 免修 / 学分认定) per student, keyed by plan course code,
    in one query per call (a job calls it once per chunk); students without any are absent.

    Only 已通过 ones: pending, rejected and revoked exceptions count for nothing. The approval date
    named in labels is the day of approval in Asia/Shanghai."""
    out: dict[int, dict[str, ApprovedException]] = {}
    ids = list(student_ids)
    if not ids:
        return out
    db.session.flush()
    rows = db.session.connection().execute(  # typed rows: SQLite hands raw_rows its timestamps as text
        select(CourseException.student_id, CourseException.kind, CourseException.course_code,
               CourseException.decided_at, CourseException.substitute_code, CourseException.substitute_name,
               CourseException.source_institution, CourseException.source_course, CourseException.credits,
               CourseException.score)
        .where(ids_in(CourseException.student_id, ids), CourseException.status == ExceptionStatus.APPROVED.value)
        .order_by(CourseException.student_id, CourseException.id)
    )
    for sid, kind, code, decided_at, sub_code, sub_name, institution, source, credits, score in rows:
        approved_on = to_local(decided_at).date() if decided_at is not None else dt.date.min
        out.setdefault(sid, {}).setdefault(code, ApprovedException(
            kind, code, approved_on, sub_code, sub_name, institution, source,
            None if credits is None else float(credits), None if score is None else float(score)))
    return out


def add_substitute_scores(best: dict[int, dict[str, float]],
                          approved: dict[int, dict[str, ApprovedException]]) -> None:
    """Put the best score of every approved 课程替代's substitute course into ``best`` (in place), for
    callers that loaded only some codes (``best_degree_scores_for``): the rule uses the substitute's
    score. One query, only for the students with a substitution."""
    pairs = {(sid, exc.substitute_code) for sid, mine in approved.items() for exc in mine.values()
             if exc.substitute_code and exc.substitute_code not in best.get(sid, {})}
    if not pairs:
        return
    sids = sorted({sid for sid, _ in pairs})
    for sid, code, score in raw_rows(
        select(Grade.student_id, Grade.course_code, func.max(Grade.score))
        .where(ids_in(Grade.student_id, sids), Grade.course_code.in_(sorted({c for _, c in pairs})))
        .group_by(Grade.student_id, Grade.course_code)
    ):
        if (sid, code) in pairs and score is not None:
            best.setdefault(sid, {})[code] = float(score)


def plan_for(student) -> TeachingPlan | None:
    """The TeachingPlan row (with courses) a single student follows, for detail pages."""
    from sqlalchemy.orm import selectinload

    major_id, level, grade = plan_key(student)
    return db.session.scalar(
        select(TeachingPlan)
        .where(TeachingPlan.major_id == major_id, TeachingPlan.level == level, TeachingPlan.grade == grade)
        .options(selectinload(TeachingPlan.courses))
    )


# --------------------------------------------------------------------------- plans, degree scores, bulk writes


def load_plans(keys: Iterable[PlanKey]) -> dict[PlanKey, tuple[int, Plan]]:
    """(plan id, rule plan) for each key that has a plan, in one query; keys without a plan are absent.

    Read as plain columns: jobs load the plans once per chunk, and building a PlanCourse entity for
    each of a cohort's 2,400 plan courses was most of that cost."""
    keys = list(set(keys))
    if not keys:
        return {}
    rows = raw_rows(
        select(TeachingPlan.id, TeachingPlan.major_id, TeachingPlan.level, TeachingPlan.grade,
               TeachingPlan.min_total_credits, TeachingPlan.min_elective_credits,
               PlanCourse.course_code, PlanCourse.course_name, PlanCourse.credits, PlanCourse.nature,
               PlanCourse.is_degree_course, PlanCourse.id)
        .outerjoin(PlanCourse, PlanCourse.plan_id == TeachingPlan.id)
        .where(tuple_(TeachingPlan.major_id, TeachingPlan.level, TeachingPlan.grade).in_(keys))
        .order_by(TeachingPlan.id, PlanCourse.id)
    )
    required = CourseNature.REQUIRED.value
    heads: dict[PlanKey, tuple[int, float, float]] = {}
    courses: dict[PlanKey, list[RulePlanCourse]] = {}
    for plan_id, major_id, level, grade, min_total, min_elective, code, name, credits, nature, degree, cid in rows:
        key = (major_id, level, grade)
        heads[key] = (plan_id, float(min_total), float(min_elective or 0))
        bucket = courses.setdefault(key, [])
        if cid is not None:
            bucket.append(RulePlanCourse(code, name, float(credits), nature == required, bool(degree)))
    return {key: (h[0], Plan(h[1], h[2], tuple(courses[key]))) for key, h in heads.items()}


def best_degree_scores_for(student_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """Best score per student over the 学位课程 of the student's own plan only (all attempts count).

    What the degree rules and the 学位申请信息汇总表 read: 6 of a student's 36 courses. One probe
    per (student, degree course) on the grade index instead of aggregating every grade; courses
    without a score are absent, as in ``best_scores_for``.
    """
    from app.models import Student

    out: dict[int, dict[str, float]] = {sid: {} for sid in student_ids}
    best = (
        select(func.max(Grade.score))
        .where(Grade.student_id == Student.id, Grade.course_code == PlanCourse.course_code)
        .scalar_subquery()
    )
    ids = list(out)
    # 2,000 students a statement: larger ones cross PostgreSQL's default jit_above_cost, and compiling
    # the plan (≈40 ms) costs more than it saves on a query this size
    for chunk in chunks(ids, 2000):
        stmt = (
            select(Student.id, PlanCourse.course_code, best)
            .join(TeachingPlan, (TeachingPlan.major_id == Student.major_id) & (TeachingPlan.level == Student.level)
                  & (TeachingPlan.grade == Student.study_grade))
            .join(PlanCourse, (PlanCourse.plan_id == TeachingPlan.id) & PlanCourse.is_degree_course.is_(True))
            .where(ids_in(Student.id, chunk))
        )
        for sid, code, score in raw_rows(stmt):
            if score is not None:
                out[sid][code] = float(score)
    return out


def bulk_update_values(table, rows: list[dict], key: str = "id", page_size: int = 5000) -> None:
    """``UPDATE table SET … WHERE key = …`` for many rows (each a dict of the key and the same columns),
    in the session's transaction.

    On PostgreSQL (psycopg2) one ``UPDATE … FROM (VALUES …)`` per ``page_size`` rows: the server
    plans one statement instead of one per row (half the cost of psycopg2's batched per-row
    UPDATEs). Elsewhere an executemany of the per-row UPDATE.
    """
    if not rows:
        return
    from sqlalchemy import bindparam, update

    db.session.flush()
    conn = db.session.connection()
    names = [n for n in rows[0] if n != key]
    if conn.dialect.driver != "psycopg2":
        stmt = update(table).where(table.c[key] == bindparam("_key")).values({n: bindparam(n) for n in names})
        conn.execute(stmt, [{**{n: row[n] for n in names}, "_key": row[key]} for row in rows])
        return
    from psycopg2.extras import execute_values

    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    columns = [table.c[key], *(table.c[n] for n in names)]
    processors = [(i, p) for i, p in enumerate(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)
                  if p is not None]
    values = []
    for row in rows:
        value = [row[key], *(row[n] for n in names)]
        for i, process in processors:
            value[i] = process(value[i])
        values.append(value)

    def cast(column) -> str:
        return f"CAST(v.{quote(column.name)} AS {column.type.compile(dialect=dialect)})"

    sql = (f"UPDATE {dialect.identifier_preparer.format_table(table)} AS t "
           f"SET {', '.join(f'{quote(c.name)} = {cast(c)}' for c in columns[1:])} "
           f"FROM (VALUES %s) AS v({', '.join(quote(c.name) for c in columns)}) "
           f"WHERE t.{quote(key)} = {cast(columns[0])}")
    with _raw_cursor(conn, sql) as cursor:
        for page in chunks(values, page_size):
            keys = [v[0] for v in page]
            bounded = sql
            if all(type(k) is int for k in keys):
                # the key range too, so that the planner reads the rows' part of the table (ids of a
                # chunk are close together) instead of hashing every row of it against the VALUES
                bounded += f" AND t.{quote(key)} BETWEEN {min(keys)} AND {max(keys)}"
            execute_values(cursor, bounded, page, page_size=len(page))


def ids_in(column, ids: Iterable[int]):
    """``column IN (ids)`` for a chunk of thousands of ids. On PostgreSQL one array parameter
    (``= ANY(:ids)``): rendering an IN list of 5,000 bound values costs SQLAlchemy ≈35 ms per
    statement, several times a chunk; the server plans both forms alike."""
    from sqlalchemy import Integer, any_, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    ids = list(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


ANALYZE_AFTER = 5000  # rows a job must have rewritten before it refreshes the table's statistics


def refresh_statistics(table, rows_written: int) -> None:
    """``ANALYZE`` a table a job has just rewritten in bulk (PostgreSQL only).

    An audit of a whole cohort replaces every result at once; until autovacuum notices (a minute or
    more), the planner still believes the old distribution — after the first audit, that no row has a
    result or a publication — and the list pages that filter on them pick plans that walk all 100,000
    students (毕业生列表: 120 ms instead of 14). Sampling the table costs ~0.1 s once per large job.
    """
    if rows_written < ANALYZE_AFTER or db.session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    db.session.execute(text(f"ANALYZE {db.session.get_bind().dialect.identifier_preparer.format_table(table)}"))
