"""kb.taxonomy: IP categories, authority tiers and enterprise topics."""
from __future__ import annotations

import pytest

from kb.models import IP_CATEGORIES, Citation, Document
from kb.taxonomy import TOPICS, authority_tier, category_scores, classify_ip, topics_for

# Real titles of SPC guiding cases with the label the source collection gave each
# (spc-guiding-cases-ip/spc_guiding_cases_ip.jsonl, field ip_category; see MANIFEST).
GUIDING_CASES = [
    (20, "深圳市斯瑞曼精细化工有限公司诉深圳市坑梓自来水有限公司、深圳市康泰蓝水处理设备有限公司侵害发明专利权纠纷案", "专利（发明）"),
    (29, "天津中国青年旅行社诉天津国青国际旅行社擅自使用他人企业名称纠纷案", "不正当竞争（擅自使用企业名称）"),
    (30, "兰建军、杭州小拇指汽车维修科技股份有限公司诉天津市小拇指汽车维修服务有限公司等侵害商标权及不正当竞争纠纷案", "商标+不正当竞争"),
    (47, "意大利费列罗公司诉蒙特莎（张家港）食品有限公司、天津经济技术开发区正元行销有限公司不正当竞争纠纷案", "不正当竞争（知名商品特有包装装潢）"),
    (48, "北京精雕科技有限公司诉上海奈凯电子科技有限公司侵害计算机软件著作权纠纷案", "著作权（计算机软件）"),
    (55, "柏万清诉成都难寻物品营销服务中心等侵害实用新型专利权纠纷案", "专利（实用新型）"),
    (58, "成都同德福合川桃片有限公司诉重庆市合川区同德福桃片有限公司、余晓华侵害商标权及不正当竞争纠纷案", "商标+不正当竞争（虚假宣传）"),
    (78, "北京奇虎科技有限公司诉腾讯科技（深圳）有限公司、深圳市腾讯计算机系统有限公司滥用市场支配地位纠纷案", "垄断（滥用市场支配地位）"),
    (79, "吴小秦诉陕西广电网络传媒（集团）股份有限公司捆绑交易纠纷案", "垄断（捆绑交易）"),
    (80, "洪福远、邓春香诉贵州五福坊食品有限公司、贵州今彩民族文化研发有限公司著作权侵权纠纷案", "著作权"),
    (85, "高仪股份公司诉浙江健龙卫浴有限公司侵害外观设计专利权纠纷案", "专利（外观设计）"),
    (86, "天津天隆种业科技有限公司与江苏徐农种业科技有限公司侵害植物新品种权纠纷案", "植物新品种"),
    (87, "郭明升、郭明锋、孙淑标假冒注册商标案", "刑事·假冒注册商标罪"),
    (113, "迈克尔·杰弗里·乔丹与国家工商行政管理总局商标评审委员会、乔丹体育股份有限公司“乔丹”商标争议行政纠纷案", "商标（授权确权行政）"),
    (161, "广州王老吉大健康产业有限公司诉加多宝（中国）饮料有限公司虚假宣传纠纷案", "不正当竞争（虚假宣传）"),
    (162, "重庆江小白酒业有限公司诉国家知识产权局、第三人重庆市江津酒厂（集团）有限公司商标权无效宣告行政纠纷案", "商标（无效宣告行政）"),
    (218, "苏州赛某电子科技有限公司诉深圳裕某科技有限公司等侵害集成电路布图设计专有权纠纷案", "集成电路布图设计专有权"),
    (219, "广州天某高新材料股份有限公司、九江天某高新材料有限公司诉安徽纽某精细化工有限公司等侵害技术秘密纠纷案", "商业秘密（技术秘密）"),
    (221, "张某勋诉宜宾恒某投资集团有限公司、四川省宜宾市吴某建材工业有限责任公司等垄断纠纷案", "垄断（横向垄断协议）"),
    (224, "某美（天津）图像技术有限公司诉河南某庐蜂业有限公司侵害作品信息网络传播权纠纷案", "著作权（信息网络传播权·权属）"),
    (262, "某科技有限公司诉某文化传媒有限公司不正当竞争纠纷案", "不正当竞争（数据集合·数据搬运）"),
]


def label_categories(label: str) -> set[str]:
    """The IP categories a source label names (商标+不正当竞争 names two)."""
    return {c for c in IP_CATEGORIES if c in label}


@pytest.mark.parametrize("number, title, label", GUIDING_CASES, ids=[f"guiding-{n}" for n, _, _ in GUIDING_CASES])
def test_guiding_case_title_gives_the_sources_category(number: int, title: str, label: str) -> None:
    expected = label_categories(label)
    assert expected, f"label {label!r} names no category"
    categories = classify_ip(title, "")
    assert categories[0] in expected
    assert set(categories) <= set(IP_CATEGORIES)


def test_both_categories_of_a_combined_case() -> None:
    title = GUIDING_CASES[2][1]  # 侵害商标权及不正当竞争纠纷案
    assert classify_ip(title, "")[:2] == ("商标", "不正当竞争")


def test_trade_secret_before_unfair_competition() -> None:
    title = GUIDING_CASES[17][1]  # 侵害技术秘密纠纷案
    # real text: 指导案例219号 裁判理由
    text = ("最高人民法院认为：《中华人民共和国反不正当竞争法》（以下简称反不正当竞争法）第十七条第三款规定，"
            "因不正当竞争行为受到损害的经营者的赔偿数额，按照其因被侵权所受到的实际损失确定")
    assert classify_ip(title, text) == ("商业秘密", "不正当竞争")


@pytest.mark.parametrize("charges, category", [
    # CAIL2018 accusations of real criminal cases (cail2018-ip-criminal)
    (["假冒注册商标"], "商标"),
    (["销售假冒注册商标的商品"], "商标"),
    (["非法制造、销售非法制造的注册商标标识"], "商标"),
    (["侵犯著作权"], "著作权"),
    (["侵犯著作权", "制造、贩卖、传播淫秽物品", "制作、复制、出版、贩卖、传播淫秽物品牟利"], "著作权"),
    (["虚开增值税专用发票、用于骗取出口退税、抵扣税款发票", "假冒注册商标"], "商标"),
    (["销售假冒注册商标的商品", "诈骗"], "商标"),
    # charges named in 刑法 第三章第七节
    (["假冒专利罪"], "专利"),
    (["侵犯商业秘密罪"], "商业秘密"),
    (["销售侵权复制品罪"], "著作权"),
])
def test_cail_charges_as_hints(charges: list[str], category: str) -> None:
    assert classify_ip("", "", hints=charges)[0] == category


@pytest.mark.parametrize("cause, category", [
    # 案由 of the CAIL2019 CJRC excerpts and the 中国裁判文书网 ruling in the corpus
    ("侵害录音录像制作者权纠纷", "著作权"),
    ("侵害作品放映权纠纷", "著作权"),
    ("侵害计算机软件著作权纠纷", "著作权"),
    ("侵害外观设计专利权纠纷", "专利"),
    ("侵害实用新型专利权纠纷", "专利"),
    ("商标权权属、侵权纠纷", "商标"),
    ("确认不侵害商标权、侵害商标权纠纷", "商标"),
    ("假冒注册商标罪", "商标"),
    ("侵犯著作权罪", "著作权"),
])
def test_causes_as_hints(cause: str, category: str) -> None:
    assert classify_ip("", "", hints=[cause])[0] == category


def test_text_alone_decides_when_title_is_silent() -> None:
    # real: CAIL2018 cail2018-sihuajian-test-00000 (fact section)
    text = ("被“贴必定”商标所有人深圳市卓宝科技股份有限公司打假人员发现并报案。上述事实，被告人在开庭审理过程中"
            "并无异议，且有惠州市工商行政管理局大亚湾分局涉嫌犯罪案件移送书，出库单，举报函，授权委托书，商标注册证，"
            "注册商标变更证明，核准商标转让证明")
    assert classify_ip("", text)[0] == "商标"


def test_title_outweighs_text() -> None:
    # synthetic: a patent case whose text keeps mentioning 商标
    text = "被告辩称其产品使用了自己的商标。" * 20
    assert classify_ip("某公司诉某公司侵害发明专利权纠纷案", text)[0] == "专利"


@pytest.mark.parametrize("keyword, category", [
    ("虚假宣传", "不正当竞争"), ("擅自使用企业名称", "不正当竞争"), ("商业诋毁", "不正当竞争"),
    ("数据", "不正当竞争"), ("滥用市场支配地位", "垄断"), ("垄断协议", "垄断"), ("捆绑交易", "垄断"),
    ("植物新品种", "植物新品种"), ("品种权", "植物新品种"), ("布图设计", "集成电路布图设计"),
    ("地理标志", "地理标志"), ("原产地", "地理标志"), ("实用新型", "专利"), ("外观设计", "专利"),
    ("信息网络传播权", "著作权"), ("计算机软件", "著作权"), ("技术秘密", "商业秘密"),
])
def test_single_keyword_in_a_title(keyword: str, category: str) -> None:
    assert classify_ip(f"某公司诉某公司{keyword}纠纷案", "")[0] == category


def test_law_titles() -> None:
    assert classify_ip("中华人民共和国专利法", "") == ("专利",)
    assert classify_ip("中华人民共和国反不正当竞争法", "") == ("不正当竞争", "商业秘密")
    assert classify_ip("集成电路布图设计保护条例", "") == ("集成电路布图设计",)
    assert classify_ip("广东省地理标志条例", "") == ("地理标志",)


def test_criminal_law_gets_what_its_text_covers() -> None:
    # real: 刑法 第二百一十三条, 第二百一十六条, 第二百一十七条 (opening), 第二百一十九条 (opening)
    text = ("第二百一十三条 未经注册商标所有人许可，在同一种商品、服务上使用与其注册商标相同的商标，情节严重的，"
            "处三年以下有期徒刑，并处或者单处罚金；情节特别严重的，处三年以上十年以下有期徒刑，并处罚金。\n"
            "第二百一十六条 假冒他人专利，情节严重的，处三年以下有期徒刑或者拘役，并处或者单处罚金。\n"
            "第二百一十七条 以营利为目的，有下列侵犯著作权或者与著作权有关的权利的情形之一，违法所得数额较大或者"
            "有其他严重情节的，处三年以下有期徒刑，并处或者单处罚金\n"
            "第二百一十九条 有下列侵犯商业秘密行为之一，情节严重的，处三年以下有期徒刑，并处或者单处罚金")
    categories = classify_ip("中华人民共和国刑法", text)
    assert {"商标", "著作权", "商业秘密"} <= set(categories)
    assert "垄断" not in categories


def test_never_empty() -> None:
    assert classify_ip("", "") == ("其他",)
    assert classify_ip("中华人民共和国民事诉讼法", "当事人有权委托代理人，提出回避申请。") == ("其他",)
    assert classify_ip("某公司诉某公司买卖合同纠纷案", "货款未付", hints=["买卖合同纠纷"]) == ("其他",)


def test_scores_explain_the_order() -> None:
    scores = category_scores("侵害技术秘密纠纷", "")
    assert scores["商业秘密"] > scores["不正当竞争"] > 0
    assert "专利" not in scores


# --- authority ------------------------------------------------------------------------------

@pytest.mark.parametrize("doc_type, source, title, tier", [
    ("guiding_case", "", "指导案例219号：侵害技术秘密纠纷案", 1),
    ("指导性案例", "", "", 1),
    ("judgment", "最高人民法院公报 2015年第8期", "", 2),
    ("judgment", "人民法院案例库", "", 2),
    ("judgment", "", "某公司诉某公司侵害商标权纠纷案（参考案例）", 2),
    ("裁判文书", "中国裁判文书网", "（2013）民申字第1643号", 3),
    ("judgment", "sunhongyu1934/java_spider", "", 3),
    ("judgment", "", "指导案例87号：郭明升、郭明锋、孙淑标假冒注册商标案", 1),
    ("statute", "", "中华人民共和国专利法", None),
    ("interpretation", "公报", "", None),
    ("regulation", "", "", None),
    ("policy", "", "玉溪市强化知识产权保护的实施意见", None),
    ("guideline", "", "", None),
    ("unknown-type", "", "", None),
    ("", "", "", None),
])
def test_authority_tier(doc_type: str, source: str, title: str, tier: int | None) -> None:
    assert authority_tier(doc_type, source=source, title=title) == tier


# --- topics ---------------------------------------------------------------------------------

def _doc(**kw) -> Document:
    base = dict(id=kw.get("title", "doc"), title="", doc_type="judgment", text="")
    return Document(**{**base, **kw})


def test_topics_cover_the_enterprise_list() -> None:
    assert [spec.label for spec in TOPICS.values()] == ["商业秘密", "商标", "专利", "著作权", "电子商务", "展会", "海关"]
    for key, spec in TOPICS.items():
        assert spec.key == key
        assert set(spec.categories) <= set(IP_CATEGORIES)


def test_topics_from_categories() -> None:
    doc = _doc(title=GUIDING_CASES[17][1], doc_type="guiding_case", ip_categories=("商业秘密", "不正当竞争"))
    assert topics_for(doc) == ("trade_secret",)


def test_topics_from_title_keywords() -> None:
    # real title: 指导案例83号 — a patent case against an online platform (浙江天猫网络有限公司)
    doc = _doc(title="威海嘉易烤生活家电有限公司诉永康市金仕德工贸有限公司、浙江天猫网络有限公司侵害发明专利权纠纷案",
               doc_type="guiding_case", ip_categories=("专利",))
    assert topics_for(doc) == ("patent", "ecommerce")


def test_topics_from_law_names_and_citations() -> None:
    statute = _doc(title="中华人民共和国知识产权海关保护条例", doc_type="regulation",
                   law_name="知识产权海关保护条例", ip_categories=("其他",))
    assert "customs" in topics_for(statute)
    expo = _doc(title="世界博览会标志保护条例", doc_type="regulation", law_name="世界博览会标志保护条例",
                ip_categories=("商标",))
    assert topics_for(expo) == ("trademark", "exhibition")
    citing = _doc(title="某公司诉某公司网络服务合同纠纷案", ip_categories=("其他",),
                  citations=(Citation("电子商务法", 42),))
    assert topics_for(citing) == ("ecommerce",)


def test_topics_need_repeated_mentions_in_text() -> None:
    once = _doc(title="某公司诉某公司买卖合同纠纷案", ip_categories=("其他",), text="货物经海关放行后交付。")
    assert topics_for(once) == ()
    thrice = _doc(title="某公司诉某公司买卖合同纠纷案", ip_categories=("其他",),
                  text="货物被海关扣留。海关认定侵权。原告向海关提出申请。")
    assert topics_for(thrice) == ("customs",)


def test_topics_classify_when_categories_are_missing() -> None:
    doc = _doc(title="某公司诉某公司侵害商标权纠纷案")
    assert topics_for(doc) == ("trademark",)
