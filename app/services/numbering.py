"""毕业证书编号 and 学位证书编号: unique, gap-free within a publication, never reused.

Numbers come from a counter row per prefix, locked (SELECT … FOR UPDATE) for the rest of the
publishing transaction. Two publications at once queue on that row; a rolled-back publication
rolls its counter back too, so no number is ever handed out twice or skipped.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.numbering import CertificateCounter
from app.statuses import Level

DIPLOMA_SCHOOL_TYPE = "5"  # 成人高等教育
DEGREE_TYPE = "4"  # 学士
LEVEL_CODES = {Level.HIGH_TO_BACHELOR.value: "05", Level.JUNIOR_TO_BACHELOR.value: "05",
               Level.HIGH_TO_JUNIOR.value: "06"}


def diploma_prefix(school_code: str, year: int, level: str) -> str:
    """School code (5) + 办学类型 5 + year (4) + 层次 05 本科 / 06 专科: 12 digits, 6 of sequence follow."""
    return f"{school_code}{DIPLOMA_SCHOOL_TYPE}{year:04d}{LEVEL_CODES[level]}"


def degree_prefix(school_code: str, year: int) -> str:
    """School code (5) + 4 (学士) + year (4): 10 digits, 6 of sequence follow."""
    return f"{school_code}{DEGREE_TYPE}{year:04d}"


def allocate(prefix: str, count: int) -> list[str]:
    """Reserve ``count`` consecutive numbers under ``prefix`` inside the current transaction."""
    if count <= 0:
        return []
    counter = _locked_counter(prefix)
    first = counter.last_value + 1
    if counter.last_value + count > 999_999:
        from app.services.errors import Conflict

        raise Conflict(f"证书编号已用尽：{prefix}")
    counter.last_value += count
    db.session.flush()
    return [f"{prefix}{n:06d}" for n in range(first, first + count)]


def lock(prefix: str) -> None:
    """Hold the prefix's counter for the rest of the transaction, before choosing what to number.

    A publication locks first and then re-reads which rows are still unpublished: whatever ran
    beside it has committed by then, so no row is numbered twice.
    """
    _locked_counter(prefix)


def _locked_counter(prefix: str) -> CertificateCounter:
    """The counter row, locked: a no-op UPDATE takes the row lock on PostgreSQL and the write lock
    on SQLite (where FOR UPDATE means nothing), so reads after it see every earlier publication."""
    db.session.execute(update(CertificateCounter).where(CertificateCounter.prefix == prefix)
                       .values(last_value=CertificateCounter.last_value).execution_options(synchronize_session=False))
    stmt = select(CertificateCounter).where(CertificateCounter.prefix == prefix).with_for_update()
    counter = db.session.scalar(stmt.execution_options(populate_existing=True))
    if counter is not None:
        return counter
    try:
        with db.session.begin_nested():
            db.session.add(CertificateCounter(prefix=prefix, last_value=0))
    except IntegrityError:
        pass  # another publication created it first
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()
