"""kb.citations: extraction, normalisation and user labels.

Every text marked "real" is copied verbatim from a document in the project's source
corpus (the comment names it); the others are synthetic and say so.
"""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, strategies as st

from kb.citations import (extract_citations, law_version, looks_like_law_name,
                          normalize_law_name, parse_citation_label)
from kb.models import Citation

INTERP_MSL = "最高人民法院关于适用《民事诉讼法》的解释"
INTERP_SECRET = "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定"


def cites(text: str, **kw) -> list[tuple]:
    """(law, version, article, sub, paragraph, item) of every citation, in order."""
    return [(c.law, c.version, c.article, c.sub, c.paragraph, c.item)
            for c in extract_citations(text, **kw)]


def art(law: str, article: int | None, *, v: str | None = None, sub: int | None = None,
        p: int | None = None, i: int | None = None) -> tuple:
    return (law, v, article, sub, p, i)


# --- real citation forms ---------------------------------------------------------------

REAL_FORMS = [
    # 指导案例20号 相关法条: a list, the law carries over
    ("《中华人民共和国专利法》第十一条、第十三条、第六十九条",
     [art("专利法", 11), art("专利法", 13), art("专利法", 69)]),
    # 指导案例47号 相关法条: item without brackets
    ("《中华人民共和国反不正当竞争法》第五条第二项", [art("反不正当竞争法", 5, i=2)]),
    # 指导案例48号 相关法条: article, paragraph, item
    ("《中华人民共和国著作权法》第四十八条第一款第六项", [art("著作权法", 48, p=1, i=6)]),
    # 指导案例48号 相关法条: a regulation without 中华人民共和国, mixed depths in one list
    ("《计算机软件保护条例》第二条、第三条第一款第一项、第二十四条第一款第三项",
     [art("计算机软件保护条例", 2), art("计算机软件保护条例", 3, p=1, i=1),
      art("计算机软件保护条例", 24, p=1, i=3)]),
    # 指导案例55号 相关法条: Arabic digits
    ("《中华人民共和国专利法》第26条第4款、第59条第1款",
     [art("专利法", 26, p=4), art("专利法", 59, p=1)]),
    # 指导案例84号 相关法条: version after the name, and 2000年修正的《…》 before it
    ("《中华人民共和国专利法》（2008年修正）第五十九条第一款、第六十一条、第六十八条第一款"
     "（本案适用的是2000年修正的《中华人民共和国专利法》第五十六条第一款、第五十七条第二款、第六十二条第一款）",
     [art("专利法", 59, v="2008", p=1), art("专利法", 61, v="2008"), art("专利法", 68, v="2008", p=1),
      art("专利法", 56, v="2000", p=1), art("专利法", 57, v="2000", p=2), art("专利法", 62, v="2000", p=1)]),
    # 指导案例113号 相关法条
    ("1．《中华人民共和国商标法》（2013年修正）第32条（本案适用的是2001年修正的《中华人民共和国商标法》第31条）",
     [art("商标法", 32, v="2013"), art("商标法", 31, v="2001")]),
    # 指导案例161号 相关法条: 1993年施行的
    ("《中华人民共和国反不正当竞争法》（2019年修正）第8条第1款（本案适用的是1993年施行的《中华人民共和国反不正当竞争法》第9条第1款）",
     [art("反不正当竞争法", 8, v="2019", p=1), art("反不正当竞争法", 9, v="1993", p=1)]),
    # 指导案例219号 相关法条: a full date in the version
    ("《中华人民共和国反不正当竞争法》（2019年4月23日修正）第17条第3款", [art("反不正当竞争法", 17, v="2019", p=3)]),
    # 指导案例220号 相关法条: 自2010年7月1日起施行的
    ("1.《中华人民共和国民法典》第1168条（本案适用的是自2010年7月1日起施行的《中华人民共和国侵权责任法》第8条）",
     [art("民法典", 1168), art("侵权责任法", 8, v="2010")]),
    # 指导案例224号 相关法条: an interpretation whose title nests 〈〉
    ("《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》（2022年修正）第90条"
     "（本案适用的是2020年修正的《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第90条）",
     [art(INTERP_MSL, 90, v="2022"), art(INTERP_MSL, 90, v="2020")]),
    # 指导案例251号 相关法条: （试行） stays in the name, the 法释 number's revision year is the version
    ("《最高人民法院关于人民法院执行工作若干问题的规定（试行）》（法释〔1998〕15号，2020年修正）第74条第2款",
     [art("最高人民法院关于人民法院执行工作若干问题的规定（试行）", 74, v="2020", p=2)]),
    # 指导案例262号 相关法条: 法释〔2022〕9号 dates the interpretation
    ("《最高人民法院关于适用〈中华人民共和国反不正当竞争法〉若干问题的解释》（法释〔2022〕9号）第1条",
     [art("最高人民法院关于适用《反不正当竞争法》若干问题的解释", 1, v="2022")]),
    # 指导案例273号 相关法条: paragraphs and items continue the article across 、 and ，
    ("《中华人民共和国反不正当竞争法》（2025年修订）第22条第1款、第3款，第39条第1款、第2款第1项",
     [art("反不正当竞争法", 22, v="2025", p=1), art("反不正当竞争法", 22, v="2025", p=3),
      art("反不正当竞争法", 39, v="2025", p=1), art("反不正当竞争法", 39, v="2025", p=2, i=1)]),
    # 指导案例273号 相关法条: an interpretation with its 法释 number
    ("《最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定》（法释〔2020〕7号）第17条第1款",
     [art(INTERP_SECRET, 17, v="2020", p=1)]),
    # （2013）民申字第1643号: 简称 definitions, bracketed items, 和 between two laws
    ("吴阁老公司上述行为已经构成《中华人民共和国商标法》（简称商标法）第五十二条第（一）项、第（五）项和"
     "《中华人民共和国商标实施条例》（简称商标法实施条例）第五十条第（一）项规定的侵权行为。",
     [art("商标法", 52, i=1), art("商标法", 52, i=5), art("商标法实施条例", 50, i=1)]),
    # （2013）民申字第1643号: a bare law name, the law carries across the list
    ("二审判决适用商标法第三条第一款、第九条第一款、第五十一条、第五十五条第一款第（四）项之规定，属于适用法律错误。",
     [art("商标法", 3, p=1), art("商标法", 9, p=1), art("商标法", 51), art("商标法", 55, p=1, i=4)]),
    # （2013）民申字第1643号: items of one paragraph, then another paragraph after ，
    ("综上，沁州黄公司依据2007年修正的《中华人民共和国民事诉讼法》（简称民事诉讼法）第一百七十九条第一款第（二）项、"
     "第（四）项、第（六）项，第二款之规定，请求本院撤销二审判决；",
     [art("民事诉讼法", 179, v="2007", p=1, i=2), art("民事诉讼法", 179, v="2007", p=1, i=4),
      art("民事诉讼法", 179, v="2007", p=1, i=6), art("民事诉讼法", 179, v="2007", p=2)]),
    # （2013）民申字第1643号: 2007年修正的 before a bare name
    ("鉴于沁州黄公司于2012年9月27日第二次申请再审，未超出2007年修正的民事诉讼法第一百八十四条规定的申请再审期限",
     [art("民事诉讼法", 184, v="2007")]),
    # （2013）民申字第1643号 legal_basis_listed_by_site: the version inside 《》
    ("《中华人民共和国民事诉讼法（2013年）》第二百零四条第一款", [art("民事诉讼法", 204, v="2013", p=1)]),
    # 指导案例162号 裁判理由: 2001年商标法
    ("本案的主要争议焦点在于，诉争商标的申请注册是否违反2001年商标法第十五条的规定。", [art("商标法", 15, v="2001")]),
    # 指导案例79号 裁判理由: 之规定 after a bare name
    ("因此一审法院认定其违反了反垄断法第十七条第五项之规定，并无不当。", [art("反垄断法", 17, i=5)]),
    # 指导案例79号 裁判理由: 及 joins two articles of an interpretation
    ("根据《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第二百二十六条及第二百二十八条的规定，",
     [art(INTERP_MSL, 226), art(INTERP_MSL, 228)]),
    # 指导案例29号 裁判理由 (quoting an interpretation): bracketed item after a bare name
    ("应当认定为反不正当竞争法第五条第（三）项规定的‘企业名称’。", [art("反不正当竞争法", 5, i=3)]),
    # LeCaRDv2 query 415, （2014）樟刑初字第100号
    ("其行为已触犯了《中华人民共和国刑法》第二百一十三条之规定，应当以假冒注册商标罪追究刑事责任。", [art("刑法", 213)]),
    # 法释〔2004〕19号 第十五条: a range, expanded
    ("第十五条 单位实施刑法第二百一十三条至第二百一十九条规定的行为，按照本解释规定的相应个人犯罪的定罪量刑标准的三倍定罪量刑。",
     [art("刑法", n) for n in range(213, 220)]),
    # 法释〔2022〕9号 第二十三条
    ("第二十三条 对于反不正当竞争法第二条、第八条、第十一条、第十二条规定的不正当竞争行为，",
     [art("反不正当竞争法", n) for n in (2, 8, 11, 12)]),
    # LexEval item lexeval-ip-024 (a real judgment's facts)
    ("权利要求1-3具备专利法第22条第2款规定的新颖性。权利要求1-3不具备专利法第22条第3款规定的创造性。",
     [art("专利法", 22, p=2), art("专利法", 22, p=3)]),
    # CAIL2019 CJRC cjrc-ip-3951ff4f7f90: 修改前的 gives no version
    ("其结论为涉案ZL200820163426.9号实用新型专利的全部权利要求1-10符合修改前的专利法第22条有关新颖性和创造性的规定",
     [art("专利法", 22)]),
    # 指导案例222号 相关法条
    ("《中华人民共和国民法典》第1165条、第1173条", [art("民法典", 1165), art("民法典", 1173)]),
    # 指导案例217号 裁判理由
    ("民事诉讼法第一百条所规定的行为保全措施的申请人并不限于原告。", [art("民事诉讼法", 100)]),
    # 指导案例158号 裁判理由: an implementing regulation named without 《》
    ("专利法实施细则第十二条第一款第三项进一步规定：", [art("专利法实施细则", 12, p=1, i=3)]),
]


@pytest.mark.parametrize("text, expected", REAL_FORMS, ids=[f"real-{i}" for i in range(len(REAL_FORMS))])
def test_real_citation_forms(text: str, expected: list[tuple]) -> None:
    assert cites(text) == expected


def test_at_least_twenty_distinct_real_forms() -> None:
    assert len({t for t, _ in REAL_FORMS}) >= 20


# --- short names defined in the text ----------------------------------------------------

def test_short_name_defined_in_parenthesis_resolves_later_mentions() -> None:
    # real: 指导案例80号 裁判理由 (two sentences apart in the source)
    text = ("《最高人民法院关于审理著作权民事纠纷案件适用法律若干问题的解释》（以下简称《著作权纠纷案件解释》）"
            "第十九条、第二十条第二款的规定，五福坊公司依法应承担本案侵权的民事责任。"
            "根据《著作权纠纷案件解释》第二十五条第一款、第二款“权利人的实际损失或者侵权人的违法所得无法确定的”")
    law = "最高人民法院关于审理著作权民事纠纷案件适用法律若干问题的解释"
    assert cites(text) == [art(law, 19), art(law, 20, p=2), art(law, 25, p=1), art(law, 25, p=2)]


def test_generic_short_name_resolves_only_through_its_definition() -> None:
    # real: 指导案例157号 裁判理由; 《实施条例》 alone does not name a law
    text = ("《中华人民共和国著作权法实施条例》（以下简称《实施条例》）第二条规定:“著作权法所称作品，"
            "是指文学、艺术和科学领域内具有独创性并能以某种有形形式复制的智力成果。”"
            "《实施条例》第四条第八项规定：“美术作品，是指绘画、书法、雕塑等")
    assert cites(text) == [art("著作权法实施条例", 2), art("著作权法实施条例", 4, i=8)]
    assert cites("《实施条例》第四条第八项规定") == []  # synthetic: no definition, no law


def test_short_name_in_brackets_equal_to_the_law() -> None:
    # real: 指导案例30号 裁判理由
    text = "足以导致相关公众的混淆和误认，属于《中华人民共和国商标法》（以下简称《商标法》）第五十二条第（一）项规定的侵权行为。"
    assert cites(text) == [art("商标法", 52, i=1)]


# --- carry-over, sentences, self_law -----------------------------------------------------------

def test_law_carries_across_connectors_within_a_sentence() -> None:
    # synthetic
    assert cites("依照专利法第十一条和第十三条的规定") == [art("专利法", 11), art("专利法", 13)]
    assert cites("依照专利法第十一条、第十三条以及第六十九条") == [
        art("专利法", 11), art("专利法", 13), art("专利法", 69)]
    assert cites("根据商标法第五十七条的规定，被告还应依照第六十三条赔偿损失") == [
        art("商标法", 57), art("商标法", 63)]


def test_law_does_not_carry_across_sentences() -> None:
    # synthetic
    assert cites("根据专利法第十一条的规定。第六十九条不适用于本案。") == [art("专利法", 11)]
    assert cites("根据专利法第十一条的规定；第六十九条不适用于本案") == [art("专利法", 11)]
    assert cites("根据专利法第十一条的规定\n第六十九条不适用于本案") == [art("专利法", 11)]


def test_real_quoted_statute_then_new_sentence_is_not_carried() -> None:
    # real: 指导案例20号 裁判理由 — 。” ends the sentence, so 第十三条 stands alone
    text = ("专利法第十一条第一款规定：“发明和实用新型专利权被授予后，除本法另有规定的以外，任何单位或者个人"
            "未经专利权人许可，都不得实施其专利。”第十三条规定：“发明专利申请公布后，申请人可以要求实施其发明的"
            "单位或者个人支付适当的费用。”")
    assert cites(text) == [art("专利法", 11, p=1)]
    assert cites(text, self_law="专利法") == [art("专利法", 11, p=1), art("专利法", 13)]


def test_bare_article_without_a_law_is_not_a_citation() -> None:
    # synthetic
    assert cites("第二十二条第三款规定的创造性") == []
    assert cites("依照第十条的规定处理") == []


def test_self_law_for_bare_and_own_references() -> None:
    # real: 著作权法(2020) 第四十一条 — heading, 本法 reference, and an item range
    text = ("第四十一条 本法第三十九条第一款第一项、第二项规定的权利的保护期不受限制。\n\n"
            "本法第三十九条第一款第三项至第六项规定的权利的保护期，为五十年")
    expected = [art("著作权法", 39, p=1, i=n) for n in range(1, 7)]
    assert cites(text, self_law="中华人民共和国著作权法") == expected
    assert cites(text) == []  # without self_law 本法 names no law


def test_self_law_range_with_inserted_article() -> None:
    # real: 刑法 第二百二十条
    text = ("第二百二十条 单位犯本节第二百一十三条至第二百一十九条之一规定之罪的，对单位判处罚金，"
            "并对其直接负责的主管人员和其他直接责任人员，依照本节各该条的规定处罚。")
    assert cites(text, self_law="刑法") == [art("刑法", n) for n in range(213, 220)] + [art("刑法", 219, sub=1)]


def test_self_law_does_not_override_a_named_law() -> None:
    # real: 法释〔2020〕19号 (商标民事纠纷解释) 第十一条, read as that interpretation
    text = "第十一条 商标法第五十七条第（二）项规定的类似商品，是指在功能、用途、生产部门、销售渠道、消费对象等方面相同"
    own = "最高人民法院关于审理商标民事纠纷案件适用法律若干问题的解释"
    assert cites(text, self_law=own) == [art("商标法", 57, i=2)]


def test_self_law_with_version() -> None:
    # synthetic
    assert cites("违反本法第九条规定", self_law="反不正当竞争法(2019)") == [art("反不正当竞争法", 9, v="2019")]


def test_article_headings_are_not_citations() -> None:
    # real: 刑法 第三章第七节, LawRefBook format (half-width space) and china-law-db (U+3000)
    text = ("第二百一十六条 假冒他人专利，情节严重的，处三年以下有期徒刑或者拘役，并处或者单处罚金。\n\n"
            "第二百一十七条　以营利为目的，有下列侵犯著作权或者与著作权有关的权利的情形之一")
    assert cites(text, self_law="刑法") == []


def test_previous_paragraph_and_this_article_are_not_citations() -> None:
    # synthetic
    for text in ("有前款行为的，依照前款规定处罚", "本条第二款所称的商业秘密", "前款第（一）项规定的情形"):
        assert cites(text) == []
        assert cites(text, self_law="商标法") == []


def test_anaphor_refers_to_the_last_named_law() -> None:
    # synthetic
    assert cites("本案适用《中华人民共和国反垄断法》。依据该法第五十条，被告应承担民事责任") == [art("反垄断法", 50)]


# --- ranges, sub-articles, digits -----------------------------------------------------------

def test_range_expands_to_each_article() -> None:
    # synthetic
    assert cites("依照商标法第五十九条至第六十一条") == [art("商标法", n) for n in (59, 60, 61)]
    assert cites("依照专利法第五条第一款至第三款") == [art("专利法", 5, p=n) for n in (1, 2, 3)]


def test_sub_article() -> None:
    # synthetic forms of a real article (刑法第二百一十九条之一, 修正案（十一）)
    assert cites("构成刑法第二百一十九条之一规定的为境外窃取商业秘密罪") == [art("刑法", 219, sub=1)]
    assert cites("依照《中华人民共和国刑法》第二百一十九条之一第一款的规定") == [art("刑法", 219, sub=1, p=1)]


def test_full_width_digits_and_brackets() -> None:
    # synthetic
    assert cites("依照《中华人民共和国商标法》第５７条第（２）项") == [art("商标法", 57, i=2)]
    assert cites("依照《中华人民共和国著作权法》(2010年修正)第十条第一款第(十二)项") == [
        art("著作权法", 10, v="2010", p=1, i=12)]
    assert cites("《中华人民共和国反不正当竞争法》（1993年）第五条第（二）项") == [
        art("反不正当竞争法", 5, v="1993", i=2)]


def test_civil_code_four_digit_articles() -> None:
    # synthetic
    assert cites("依照民法典第一千一百八十五条的规定") == [art("民法典", 1185)]


def test_short_forms_and_aliases() -> None:
    # synthetic
    assert cites("根据《商标法》第五十七条，《著作权法》第十条第一款第（十二）项") == [
        art("商标法", 57), art("著作权法", 10, p=1, i=12)]
    assert cites("依照民诉法第二百条") == [art("民事诉讼法", 200)]
    assert cites("依照劳动合同法第二十三条") == [art("劳动合同法", 23)]  # not 合同法


def test_unknown_law_still_normalises_sensibly() -> None:
    # synthetic names of real kinds of law that are not in the table
    assert cites("依据江苏省专利促进条例第十条") == [art("江苏省专利促进条例", 10)]
    assert cites("违反《中华人民共和国电子签名法》第十四条") == [art("电子签名法", 14)]


def test_deduplicates_keeping_first_occurrence() -> None:
    # synthetic
    found = extract_citations("依照专利法第十一条。专利法第十一条另有规定。依照专利法（2008年修正）第十一条")
    assert [(c.law, c.article) for c in found] == [("专利法", 11)]
    assert found[0].text == "专利法第十一条"
    found = extract_citations("依照《中华人民共和国专利法》（2008年修正）第十一条。依照专利法第十一条")
    assert [(c.version, c.article) for c in found] == [("2008", 11), (None, 11)]


def test_citation_text_is_the_source_span() -> None:
    # real: 指导案例20号 相关法条
    found = extract_citations("《中华人民共和国专利法》第十一条、第十三条、第六十九条")
    assert [c.text for c in found] == ["《中华人民共和国专利法》第十一条", "第十三条", "第六十九条"]


# --- no false positives ---------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    # synthetic
    "原告于2014年第一次申请注册",
    "核定使用商品为第25类商品",
    "第5078445号商标",
    "第一审判决认定事实清楚",
    "第三人重庆市江津酒厂（集团）有限公司",
    "第一、关于权利归属。第二、关于侵权认定。",
    "判决：一、撤销一审判决第二项；",
    # real: LexEval lexeval-ip-015, a licence contract's clauses
    "签订一份注册商标授权合同书，合同第一条约定：甲方将注册登记的第29类商标“深山秀”（申请号：第9934708号）"
    "许可乙方使用在其生产的包装上（只包含酸菜）；第三条约定：许可使用的期限自2019年8月1日",
    # real: LexEval lexeval-ip-009
    "且依据谢俊鑫提交的分割协议第3条第（2）项可见被告谢锡浩、谢俊鑫共同经营的公司是有工厂及生产设备的",
    # real: LexEval lexeval-ip-036
    "2.1乙方应按本协议第4条和第5条的规定向甲方支付许可费和分成。",
    # real: LexEval lexeval-ip-045
    "合同共有八条，第一条至第七条均为打印，第八条为手写，内容为“以实际使用数量为准，使用多少付多少款”。",
    # real: LexEval lexeval-ip-071: a contract in 《》 is not a law
    "双方签订了《专利事实许可合同》，合同第一条约定许可专利有：1、电竞椅（ZS8）",
])
def test_no_false_positives(text: str) -> None:
    assert cites(text) == []
    assert cites(text, self_law="商标法") == []


def test_contract_clause_after_a_law_in_the_same_sentence() -> None:
    # synthetic
    assert cites("依照《中华人民共和国合同法》第六十条，双方应履行合同第三条的义务") == [art("合同法", 60)]


def test_regulation_named_in_brackets_carries_after_comma() -> None:
    # real: LexEval lexeval-ip-066 — 第二条 belongs to the 规定 just named; 第五条 opens a new sentence
    text = ("2016年4月25日，国家新闻出版广电总局发布第6号令《专网及定向传播视听节目服务管理规定》，第二条规定：“本规定所称"
            "专网及定向传播视听节目服务，是指以电视机、各类手持电子设备等为接收终端。”第五条规定，从事内容提供")
    assert cites(text) == [art("专网及定向传播视听节目服务管理规定", 2)]


def test_bare_laws_only_when_asked() -> None:
    # real: 指导案例20号 裁判理由, then synthetic
    text = "本案应当适用2000年修改的《中华人民共和国专利法》。依照《中华人民共和国商标法》第五十七条的规定，以及《焦点访谈》节目"
    assert cites(text) == [art("商标法", 57)]
    assert cites(text, include_bare_laws=True) == [art("专利法", None, v="2000"), art("商标法", 57)]


def test_unbracketed_interpretation_title_with_inner_brackets() -> None:
    # synthetic (the form LexEval options use)
    text = "依照最高人民法院关于适用《中华人民共和国民事诉讼法》的解释第三百五十八条"
    assert cites(text) == [art(INTERP_MSL, 358)]
    assert cites(text, include_bare_laws=True) == [art(INTERP_MSL, 358)]


def test_empty_text() -> None:
    assert extract_citations("") == ()
    assert extract_citations("本院认为，被告的行为构成侵权。") == ()


def test_returns_citations_in_order_of_first_appearance() -> None:
    # real: 指导案例48号 裁判理由
    text = ("根据《著作权法》第四十八条第一款第六项、《计算机软件保护条例》第二十四条第一款第三项的规定，"
            "故意避开或者破坏著作权人为保护其软件著作权而采取的技术措施的")
    assert cites(text) == [art("著作权法", 48, p=1, i=6), art("计算机软件保护条例", 24, p=1, i=3)]


# --- law names ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw, name", [
    ("《中华人民共和国反不正当竞争法》", "反不正当竞争法"),
    ("中华人民共和国反不正当竞争法（2019年修正）", "反不正当竞争法"),
    ("  《 商标法 》 ", "商标法"),
    ("民诉法", "民事诉讼法"),
    ("反法", "反不正当竞争法"),
    ("商标法实施条例", "商标法实施条例"),
    ("中华人民共和国专利法实施细则", "专利法实施细则"),
    ("著作权法实施条例", "著作权法实施条例"),
    ("中华人民共和国刑法修正案（十一）", "刑法修正案（十一）"),
    ("刑法修正案(十一)", "刑法修正案（十一）"),
    ("《最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定》", INTERP_SECRET),
    ("最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020)", INTERP_SECRET),
    ("《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》（2022年修正）", INTERP_MSL),
    ("最高人民法院关于适用《民事诉讼法》的解释", INTERP_MSL),
    # LawRefBook file title vs. the official title with 、
    ("最高人民法院 最高人民检察院关于办理侵犯知识产权刑事案件具体应用法律若干问题的解释（三）",
     "最高人民法院、最高人民检察院关于办理侵犯知识产权刑事案件具体应用法律若干问题的解释（三）"),
    # china-law-db front matter: the title spread over lines with U+3000
    ("最高人民法院　最高人民检察院\n关于办理侵犯知识产权刑事案件适用法律\n若干问题的解释",
     "最高人民法院、最高人民检察院关于办理侵犯知识产权刑事案件适用法律若干问题的解释"),
    ("山东省实施《中华人民共和国反不正当竞争法》办法", "山东省实施《反不正当竞争法》办法"),
    ("江苏省专利促进条例", "江苏省专利促进条例"),
    ("", ""),
])
def test_normalize_law_name(raw: str, name: str) -> None:
    assert normalize_law_name(raw) == name


@pytest.mark.parametrize("raw, version", [
    ("《中华人民共和国专利法》（2019年修正）", "2019"),
    ("反不正当竞争法（1993年）", "1993"),
    ("反不正当竞争法(2019)", "2019"),
    ("《中华人民共和国民事诉讼法（2013年）》", "2013"),
    ("最高人民法院关于审理专利纠纷案件适用法律问题的若干规定（法释〔2001〕21号，2020年修正）", "2020"),
    ("最高人民法院关于知识产权法庭若干问题的规定(2023-10-21)", "2023"),
    ("中华人民共和国专利法", None),
    ("刑法修正案（十一）", None),
    ("最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释（二）", None),
])
def test_law_version(raw: str, version: str | None) -> None:
    assert law_version(raw)[1] == version


def test_looks_like_law_name() -> None:
    for name in ("专利法", "反不正当竞争法", "信息网络传播权规定", "刑法修正案（十一）", "民诉法",
                 "最高人民法院关于人民法院执行工作若干问题的规定（试行）"):
        assert looks_like_law_name(name), name
    for name in ("合作协议书", "专利事实许可合同", "焦点访谈", "一种茶叶的制备方法", "规定", "法律", "实施条例", ""):
        assert not looks_like_law_name(name), name


# --- labels typed by users -------------------------------------------------------------------

@pytest.mark.parametrize("label, expected", [
    ("反不正当竞争法第9条", Citation("反不正当竞争法", 9)),
    ("反不正当竞争法#9", Citation("反不正当竞争法", 9)),
    ("专利法第十一条第一款", Citation("专利法", 11, paragraph=1)),
    ("刑法#219-1", Citation("刑法", 219, sub=1)),
    ("《中华人民共和国刑法》第二百一十九条之一", Citation("刑法", 219, sub=1)),
    ("商标法第五十七条第（二）项", Citation("商标法", 57, item=2)),
    ("反不正当竞争法(2019)第9条第1款", Citation("反不正当竞争法", 9, paragraph=1, version="2019")),
    ("反不正当竞争法(2019)#9", Citation("反不正当竞争法", 9, version="2019")),
    ("民诉法 第 200 条", Citation("民事诉讼法", 200)),
    ("专利法", Citation("专利法")),
    ("最高人民法院关于第一审知识产权民事、行政案件管辖的若干规定第3条",
     Citation("最高人民法院关于第一审知识产权民事、行政案件管辖的若干规定", 3)),
])
def test_parse_citation_label(label: str, expected: Citation) -> None:
    assert parse_citation_label(label) == expected


@pytest.mark.parametrize("label", [
    "", "  ", "第9条", "#9", "hello", "合同第3条", "专利法第0条", "专利法第十十条", "专利法#", "专利法#a",
    "专利法第9条第", "焦点访谈第3条",
])
def test_parse_citation_label_rejects(label: str) -> None:
    assert parse_citation_label(label) is None


_LAWS = st.sampled_from(["专利法", "商标法", "反不正当竞争法", "刑法", "民法典", "商标法实施条例",
                         "刑法修正案（十一）", INTERP_SECRET])
_SMALL = st.one_of(st.none(), st.integers(min_value=1, max_value=30))


@given(law=_LAWS, article=st.integers(min_value=1, max_value=1300), sub=_SMALL, paragraph=_SMALL,
       item=_SMALL, version=st.one_of(st.none(), st.sampled_from(["1993", "2008", "2019", "2020"])))
def test_label_round_trip(law, article, sub, paragraph, item, version) -> None:
    citation = Citation(law, article, sub=sub, paragraph=paragraph, item=item, version=version)
    assert parse_citation_label(citation.label) == citation
    by_key = parse_citation_label(citation.key)
    assert by_key is not None and by_key.key == citation.key
    assert (by_key.article, by_key.sub) == (article, sub)


@given(law=_LAWS, article=st.integers(min_value=1, max_value=1300), sub=_SMALL, paragraph=_SMALL,
       item=_SMALL)
def test_extracted_label_round_trip(law, article, sub, paragraph, item) -> None:
    """What extract_citations reads from a label it reads back the same (text aside)."""
    citation = Citation(law, article, sub=sub, paragraph=paragraph, item=item)
    found = extract_citations("依照" + citation.label + "的规定")
    assert [dataclasses.replace(c, text="") for c in found] == [citation]


_LEGAL_ALPHABET = st.sampled_from(list("第条款项之至、，。；和及《》〈〉（）()本法该条例规定解释专利商标刑民事诉讼中华人民共和国最高院关于"
                                       "一二三四五六七八九十百千零〇0123456789２６ \n合同协议2013年修正的"))


@given(st.text(alphabet=_LEGAL_ALPHABET, max_size=120), st.one_of(st.none(), st.sampled_from(["刑法", "商标法"])))
def test_extraction_never_fails_and_yields_valid_citations(text: str, self_law: str | None) -> None:
    found = extract_citations(text, self_law=self_law)
    keys = [(c.law, c.version, c.article, c.sub, c.paragraph, c.item) for c in found]
    assert len(keys) == len(set(keys))
    for c in found:
        assert c.law and c.article is not None and c.article > 0
        assert all(v is None or v > 0 for v in (c.sub, c.paragraph, c.item))
        assert c.text and c.text in text


@given(st.text(max_size=60))
def test_label_parser_never_fails(text: str) -> None:
    result = parse_citation_label(text)
    assert result is None or (result.law and looks_like_law_name(result.law))
