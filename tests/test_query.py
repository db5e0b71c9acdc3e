"""kb/query.py: the query language parses what users type and never raises."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.query import (DEFAULT_FIELDS, And, FieldValue, Not, Or, ParsedQuery, Phrase, Words,
                      normalize_authority, normalize_category, normalize_doc_type, normalize_statute,
                      normalize_status, parse_query, year_range)


def root(text: str):
    return parse_query(text).root


def test_plain_words_are_an_implicit_and():
    parsed = parse_query("商业秘密 合理保密措施")
    assert parsed.root == And((Words("商业秘密"), Words("合理保密措施")))
    assert not parsed.is_long and not parsed.explicit


def test_phrases_with_ascii_and_full_width_quotes():
    assert root('"商标侵权" “在先使用”') == And((Phrase("商标侵权"), Phrase("在先使用")))
    assert root("「合理保密措施」") == Phrase("合理保密措施")


def test_fields_in_english_and_chinese():
    assert root("title:乔丹") == Words("乔丹", "title")
    assert root("标题：乔丹") == Words("乔丹", "title")  # full-width colon
    assert root('标题:"乔丹 商标"') == Phrase("乔丹 商标", "title")
    assert root("type:司法解释") == FieldValue("doc_type", "司法解释")
    assert root("类型:guiding_case") == FieldValue("doc_type", "guiding_case")
    assert root("类别:商业秘密 法院:最高人民法院") == And((FieldValue("ip_category", "商业秘密"),
                                                        FieldValue("court", "最高人民法院")))
    assert root("year:2019-2021") == FieldValue("year", "2019-2021")
    assert root("案由:侵害商标权纠纷") == Words("侵害商标权纠纷", "cause")
    assert root("法条:反不正当竞争法#9") == FieldValue("statutes", "反不正当竞争法#9")
    assert root("statute:专利法第11条") == FieldValue("statutes", "专利法第11条")
    assert root("status:superseded authority:1") == And((FieldValue("status", "superseded"),
                                                        FieldValue("authority", "1")))
    assert parse_query("TITLE:乔丹").root == Words("乔丹", "title")  # field names ignore case


def test_unknown_fields_become_plain_words():
    parsed = parse_query("foo:bar 10:30")
    assert parsed.root == And((Words("foo:bar"), Words("10:30")))
    assert any("foo" in n for n in parsed.notes)


def test_boolean_operators_and_precedence():
    assert root("商标 OR 专利") == Or((Words("商标"), Words("专利")))
    assert root("商标 或 专利") == Or((Words("商标"), Words("专利")))
    assert root("商标 AND 专利") == And((Words("商标"), Words("专利")))
    assert root("商标 且 专利 非 刑事") == And((Words("商标"), Words("专利"), Not(Words("刑事"))))
    # AND binds tighter than OR
    assert root("商标 OR 专利 赔偿") == Or((Words("商标"), And((Words("专利"), Words("赔偿")))))
    assert root("(商标 OR 专利) AND 赔偿") == And((Or((Words("商标"), Words("专利"))), Words("赔偿")))
    assert root("（商标 或 专利） 赔偿") == And((Or((Words("商标"), Words("专利"))), Words("赔偿")))
    assert parse_query("商标 OR 专利").explicit


def test_minus_and_not():
    assert root("-刑事 专利") == And((Not(Words("刑事")), Words("专利")))
    assert root("NOT 刑事") == Not(Words("刑事"))
    assert root("NOT NOT 专利") == Words("专利")
    assert root("-type:judgment") == Not(FieldValue("doc_type", "judgment"))
    assert root('-标题:"商标 侵权" 专利') == And((Not(Phrase("商标 侵权", "title")), Words("专利")))


def test_operators_only_as_separate_words():
    # 或 inside 或者 and lower-case "or" are text, not operators
    assert root("许可或者转让") == Words("许可或者转让")
    assert root("trade or secret") == And((Words("trade"), Words("or"), Words("secret")))


def test_malformed_input_falls_back_to_plain_words():
    assert root('"没有闭合的引号') == Words("没有闭合的引号")
    assert root("((商标 专利") == And((Words("商标"), Words("专利")))
    assert root("商标) 专利)") == And((Words("商标"), Words("专利")))
    assert root("商标 AND") == Words("商标")
    assert root("OR 商标 OR") == Words("商标")
    assert root("NOT") is None
    assert root("") is None and root("   ") is None
    assert root("title:") is None
    deep = "(" * 500 + "商标 OR 专利" + ")" * 500  # operators: not a long query
    assert parse_query(deep).root == Or((Words("商标"), Words("专利")))
    assert parse_query("(" * 500 + "商标").is_long  # no operators: read as a case description


def test_long_text_without_operators_is_long():
    description = ("原告系涉案技术秘密的权利人，被告原系原告员工，离职后将其掌握的工艺图纸披露给竞争对手，"
                   "竞争对手据此生产相同产品并低价销售，原告主张被告侵害其技术秘密。")  # SYNTHETIC
    assert len(description) > 60
    parsed = parse_query(description)
    assert parsed.is_long and parsed.root == Words(description)
    assert not parse_query(description[:50]).is_long
    assert not parse_query(description + " OR 专利").is_long
    with_field = parse_query("类型:裁判文书 " + description)
    assert with_field.is_long and with_field.restrictions == (FieldValue("doc_type", "裁判文书"),)


def test_value_normalisers():
    assert normalize_doc_type("司法解释") == "interpretation"
    assert normalize_doc_type("Statute") == "statute"
    assert normalize_status("现行有效") == "current" and normalize_status("已废止") == "repealed"
    assert normalize_authority("指导性案例") == "1" and normalize_authority("2") == "2"
    assert normalize_category("商标权") == "商标" and normalize_category("专利") == "专利"
    assert year_range("2019") == (2019, 2019)
    assert year_range("2021-2019") == (2019, 2021) and year_range("2019至2021") == (2019, 2021)
    assert year_range("去年") is None


def test_statute_values_are_normalised():
    assert normalize_statute("反不正当竞争法#9") == ["反不正当竞争法#9"]
    assert normalize_statute("《中华人民共和国反不正当竞争法》第九条") == ["反不正当竞争法#9"]
    assert normalize_statute("专利法第11条") == ["专利法#11"]
    assert normalize_statute("") == []


def test_default_fields_cover_the_documented_names():
    for name in ("title", "标题", "type", "类型", "category", "类别", "court", "法院", "year", "年份",
                 "cause", "案由", "statute", "法条", "status", "authority"):
        assert name in DEFAULT_FIELDS


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('商标专利 "“”()（）:：-ORANDNOT或且非title法条#9\n\t')), max_size=80))
def test_query_syntax_soup_never_raises(text):
    parsed = parse_query(text)
    assert isinstance(parsed, ParsedQuery)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_strings_never_raise(text):
    parsed = parse_query(text)
    assert isinstance(parsed, ParsedQuery)
    assert parsed.text == text
