"""Reading single cells of an import: text, numbers, dates and the 身份证号 check."""
from __future__ import annotations

import datetime as dt

import pytest

from app.imports import cells
from app.imports.cells import CellError

TODAY = dt.date(2025, 6, 1)


def valid_id(prefix17: str) -> str:
    return prefix17 + cells.id_card_check_digit(prefix17)


def test_text_reads_numbers_as_people_typed_them():
    """学号 typed as a number is read without ".0"; decimals keep their digits; dates become ISO text."""
    assert cells.text(2020010001.0) == "2020010001"
    assert cells.text(85.5) == "85.5"
    assert cells.text(dt.datetime(2024, 3, 1)) == "2024-03-01"
    assert cells.text("\u3000 张三 \u00a0") == "张三"
    assert cells.text(None) == ""


@pytest.mark.parametrize("value", [dt.datetime(2024, 3, 1), dt.date(2024, 3, 1), "2024-03-01", "2024/3/1",
                                   "2024.03.01", "20240301", 20240301, "2024年3月1日", "2024-03-01 00:00:00", 45352])
def test_dates_are_read_in_the_usual_spellings(value):
    """A date cell, ISO-like text, 8 digits, 年月日 and an Excel serial all give the same day."""
    assert cells.date_value(value) == dt.date(2024, 3, 1)


@pytest.mark.parametrize("value", ["2024-02-30", "三月一日", 12.5, "2024-13-01"])
def test_impossible_dates_are_refused_in_chinese(value):
    """A day that does not exist or text that is not a date is an error with a Chinese hint."""
    with pytest.raises(CellError, match="日期格式不正确"):
        cells.date_value(value)


def test_whole_numbers_accept_a_suffix_and_refuse_fractions():
    """年级 may be written 2020 or "2020级"; 2020.5 is not a year."""
    assert cells.whole_number("2020级", "年级", suffix="级") == 2020
    assert cells.whole_number(2020.0, "年级") == 2020
    with pytest.raises(CellError, match="年级应为整数"):
        cells.whole_number(2020.5, "年级")
    with pytest.raises(CellError, match="年级应为整数"):
        cells.whole_number("二〇二〇", "年级")


def test_a_valid_id_card_passes_and_lower_case_x_is_normalised():
    """The GB 11643 example number is valid; a lower-case x check digit is stored upper-case."""
    assert cells.id_card("11010519491231002x", TODAY) == "11010519491231002X"
    assert cells.id_card_birth("11010519491231002X") == dt.date(1949, 12, 31)


@pytest.mark.parametrize("value, problem", [
    ("1101051949123100", "身份证号应为 18 位（实际 16 位）"),
    ("11010519491231002Y", "前 17 位应为数字"),
    ("11010519490231002X", "出生日期无效：19490231"),
    (valid_id("32060120300101123"), "出生日期无效：20300101"),
    ("110105194912310021", "校验位错误（按前 17 位计算应为 X）"),
    (110105194912310020, "应按文本填写"),
])
def test_bad_id_cards_say_what_is_wrong(value, problem):
    """Length, characters, the birth date inside and the ISO 7064 MOD 11-2 check digit are each checked."""
    with pytest.raises(CellError) as err:
        cells.id_card(value, TODAY)
    assert problem in err.value.message
