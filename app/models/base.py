"""Column helpers shared by the models."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, func
from sqlalchemy.dialects.postgresql import JSONB


def utcnow() -> dt.datetime:
    """Naive UTC now; every timestamp is stored in UTC and shown in Asia/Shanghai."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


JSONType = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime()
NOW = func.now()
