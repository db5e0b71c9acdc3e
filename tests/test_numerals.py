"""kb.numerals: Chinese, Arabic and full-width numerals; Chinese and ISO dates."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from kb.numerals import chinese_date_to_iso, chinese_to_int

_DIGITS = "零一二三四五六七八九"


def _section(n: int) -> str:
    """Write 0 < n < 10000 the way statutes do (一百零五, 一千零八十五, 二百一十九)."""
    out, zero_pending = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            if zero_pending and out:
                out += "零"
            out += _DIGITS[digit] + unit
            zero_pending = False
        else:
            zero_pending = True
    return out


def to_chinese(n: int) -> str:
    """An independent writer of Chinese numerals (below 10^8), to check the reader against."""
    if n == 0:
        return "零"
    high, low = divmod(n, 10000)
    if high:
        text = _section(high) + "万"
        if low:
            text += ("零" if low < 1000 else "") + _section(low)
    else:
        text = _section(low)
    return text[1:] if text.startswith("一十") else text  # 十五, not 一十五


@pytest.mark.parametrize("text, value", [
    ("二百一十九", 219),     # 刑法第二百一十九条
    ("一千二百六十", 1260),  # 民法典第一千二百六十条
    ("一千一百八十五", 1185),
    ("十", 10),
    ("十五", 15),
    ("二十", 20),
    ("一百零五", 105),
    ("一千零八十五", 1085),
    ("二百零四", 204),       # 民事诉讼法第二百零四条
    ("一百一十", 110),
    ("〇", 0),
    ("零", 0),
    ("二〇一三", 2013),      # years are written digit by digit
    ("二〇〇八", 2008),
    ("9", 9),
    ("26", 26),
    ("９", 9),
    ("２６", 26),
    ("十万", 100000),
    ("一万零五百", 10500),
    ("两百", 200),
    (" 五十九 ", 59),
])
def test_chinese_to_int_values(text: str, value: int) -> None:
    assert chinese_to_int(text) == value


@pytest.mark.parametrize("text", [
    "", "  ", "abc", "第五", "五条", "1万", "２十", "十十", "百", "千", "二三十", "一千千",
    "一百二三", "12a", "一.五", "万",
])
def test_chinese_to_int_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        chinese_to_int(text)


def test_chinese_to_int_rejects_non_strings() -> None:
    with pytest.raises(ValueError):
        chinese_to_int(None)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=99_999_999))
def test_chinese_round_trip(n: int) -> None:
    assert chinese_to_int(to_chinese(n)) == n


@given(st.integers(min_value=0, max_value=10**12))
def test_arabic_and_full_width_digits(n: int) -> None:
    wide = str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert chinese_to_int(str(n)) == n
    assert chinese_to_int(wide) == n


def test_writer_matches_statute_spelling() -> None:
    # guards the test helper itself against drifting from how statutes write numbers
    assert [to_chinese(n) for n in (15, 105, 219, 1085, 1260)] == [
        "十五", "一百零五", "二百一十九", "一千零八十五", "一千二百六十"]


@pytest.mark.parametrize("text, iso", [
    ("二〇一三年十二月二十日", "2013-12-20"),   # （2013）民申字第1643号 落款
    ("2013年12月20日", "2013-12-20"),
    ("２０１３年１２月２０日", "2013-12-20"),
    ("二〇二一年七月五日", "2021-07-05"),
    ("二〇二〇年十二月二十九日", "2020-12-29"),
    ("2019年4月23日修正", "2019-04-23"),
    ("自2010年7月1日起施行", "2010-07-01"),
    ("二〇一三年 十二月 二十日", "2013-12-20"),
    ("最高人民法院关于知识产权法庭若干问题的规定(2023-10-21).md", "2023-10-21"),
    ("2020.09.10", "2020-09-10"),
    ("审判长 王某 二〇二〇年二月二十九日", "2020-02-29"),  # a leap day is a real date
])
def test_chinese_date_to_iso(text: str, iso: str) -> None:
    assert chinese_date_to_iso(text) == iso


@pytest.mark.parametrize("text", [
    "", "二〇一三年", "2013年12月", "二〇一三年二月三十日", "2019年2月29日", "2013年13月1日",
    "第二次申请再审", "12月20日",
])
def test_chinese_date_to_iso_none(text: str) -> None:
    assert chinese_date_to_iso(text) is None


def test_first_valid_date_wins() -> None:
    text = "2014年2月30日提交，二〇一四年三月三日开庭，2014年5月6日判决"
    assert chinese_date_to_iso(text) == "2014-03-03"
