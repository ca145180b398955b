"""Reading one cell: whatever Excel stored (text, number, date) as the value a column means.

People type 学号 as numbers, dates as text or as date cells, years as ``2020`` or ``2020级``; each
helper accepts the usual spellings and raises ``CellError`` with a Chinese message otherwise.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

_TRIM = " \t\r\n\u3000\u00a0"  # ordinary, full-width and non-breaking spaces that come with pasted text
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
DATE_HINT = "日期格式不正确（应为 2024-03-01 这样的日期）"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_EXCEL_EPOCH = dt.date(1899, 12, 30)


class CellError(ValueError):
    """A cell that cannot be read as its column's type; ``message`` is shown in the error report."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def text(value: Any) -> str:
    """The cell as trimmed text: ``2020010001.0`` → ``"2020010001"``, a date → ``"2024-03-01"``.

    Full-width and non-breaking spaces at either end are trimmed too; inner spaces stay as typed.
    """
    if value is None:
        return ""
    if type(value) is str:  # the common case first: most cells are text
        return value.strip(_TRIM)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return format(value, ".12g")
    if isinstance(value, int):
        return str(value)
    return str(value).strip(_TRIM)


def is_blank(value: Any) -> bool:
    return text(value) == ""


def number(value: Any, what: str) -> float:
    """A number from a numeric cell or numeric text."""
    if isinstance(value, bool):
        raise CellError(f"{what}应为数字")
    if isinstance(value, (int, float)):
        result = float(value)
    else:
        try:
            result = float(text(value))
        except ValueError:
            raise CellError(f"{what}应为数字") from None
    if not math.isfinite(result):
        raise CellError(f"{what}应为数字")
    return result


def whole_number(value: Any, what: str, suffix: str = "") -> int:
    """A whole number; ``suffix`` (e.g. 级) may follow it in text cells."""
    if isinstance(value, bool):
        raise CellError(f"{what}应为整数")
    if isinstance(value, (int, float)):
        result = float(value)
    else:
        raw = text(value)
        if suffix and raw.endswith(suffix):
            raw = raw[: -len(suffix)].strip()
        try:
            result = float(raw)
        except ValueError:
            raise CellError(f"{what}应为整数") from None
    if not math.isfinite(result) or not result.is_integer():
        raise CellError(f"{what}应为整数")
    return int(result)


def date_value(value: Any) -> dt.date:
    """A date from a date cell, ISO-like text (2024-03-01, 2024/3/1, 20240301, 2024年3月1日) or a serial."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 19000101 <= value <= 29991231:
            value = str(int(value))
        elif 1 <= value < 2958466 and float(value).is_integer():
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))  # a date typed into a number-formatted cell
        else:
            raise CellError(DATE_HINT)
    raw = text(value).split(" ")[0]
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise CellError(DATE_HINT)


def id_card_check_digit(first17: str) -> str:
    """The 18th character of a 居民身份证号 (GB 11643, ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_card(value: Any, today: dt.date) -> str:
    """A valid 18-digit 身份证号 (upper-case X), else ``CellError`` saying what is wrong.

    Checks the length, the characters, the birth date it contains (a real day, not after today, not
    before 1900) and the check digit.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError("身份证号应按文本填写（数字格式会丢失末位数字）")
    raw = text(value).upper()
    if len(raw) != 18:
        raise CellError(f"身份证号应为 18 位（实际 {len(raw)} 位）")
    if not raw[:17].isdigit() or not (raw[17].isdigit() or raw[17] == "X"):
        raise CellError("身份证号格式不正确：前 17 位应为数字，最后一位为数字或 X")
    try:
        birth = dt.date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise CellError(f"身份证号中的出生日期无效：{raw[6:14]}") from None
    if birth > today or birth.year < 1900:
        raise CellError(f"身份证号中的出生日期无效：{raw[6:14]}")
    expected = id_card_check_digit(raw[:17])
    if raw[17] != expected:
        raise CellError(f"身份证号校验位错误（按前 17 位计算应为 {expected}）")
    return raw


def id_card_birth(number: str) -> dt.date:
    """The birth date inside a valid 身份证号."""
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
