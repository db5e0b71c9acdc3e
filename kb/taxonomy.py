"""IP categories, case authority and the topics an enterprise browses. Rule-based, pure.

Categories come from weighted keywords: a case's title and its hints (案由, charges,
keywords) say what the case is about far more reliably than words scattered in its
text, so they weigh more; the text only ranks and adds categories. The rules are
data (the tables below), so a category is one edit away.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from .models import CASE_TYPES, DOC_TYPES, IP_CATEGORIES, Document

__all__ = [
    "classify_ip", "category_scores", "authority_tier", "TopicSpec", "TOPICS", "topics_for",
    "CATEGORY_KEYWORDS",
]

# --- IP categories ------------------------------------------------------------------------

CATEGORY_KEYWORDS: Mapping[str, tuple[tuple[str, float], ...]] = {
    "商业秘密": (
        ("商业秘密", 2.0), ("技术秘密", 2.0), ("经营秘密", 2.0), ("经营信息", 0.6),
        ("技术信息", 0.6), ("保密措施", 0.8), ("不为公众所知悉", 0.8), ("竞业限制", 0.3),
    ),
    "不正当竞争": (
        ("不正当竞争", 1.5), ("虚假宣传", 2.0), ("擅自使用他人企业名称", 2.0),
        ("擅自使用企业名称", 2.0), ("商业诋毁", 2.0), ("仿冒", 1.0), ("混淆行为", 1.0),
        ("包装、装潢", 1.0), ("包装装潢", 1.0), ("商业贿赂", 1.5), ("引人误解", 0.8),
        ("数据", 0.5), ("技术秘密", 0.5), ("商业秘密", 0.5),
    ),
    "垄断": (
        ("垄断", 1.5), ("滥用市场支配地位", 2.0), ("市场支配地位", 1.5), ("垄断协议", 2.0),
        ("捆绑交易", 2.0), ("搭售", 1.5), ("经营者集中", 1.5), ("限定交易", 1.0),
    ),
    "植物新品种": (
        ("植物新品种", 2.0), ("品种权", 2.0), ("授权品种", 1.5), ("繁殖材料", 1.0),
        ("新品种", 0.8), ("种子", 0.3),
    ),
    "集成电路布图设计": (("布图设计", 2.5), ("集成电路", 0.8)),
    "地理标志": (("地理标志", 2.0), ("原产地", 1.0), ("证明商标", 0.5)),
    "商标": (
        ("商标", 1.0), ("注册商标", 1.0), ("商标权", 1.0), ("商标专用权", 1.0),
        ("驰名商标", 1.0), ("商标标识", 1.0), ("商标评审", 1.0), ("特许经营", 0.5),
    ),
    "著作权": (
        ("著作权", 1.5), ("版权", 1.2), ("信息网络传播权", 2.0), ("计算机软件", 1.5),
        ("软件著作权", 1.5), ("侵权复制品", 1.5), ("复制发行", 1.0), ("作品", 0.5),
        ("邻接权", 1.5), ("录音录像制品", 1.0), ("录音录像制作者", 1.5), ("表演者", 0.5),
        ("复制权", 1.0), ("发行权", 1.0), ("放映权", 1.0), ("表演权", 1.0), ("广播权", 1.0),
        ("改编权", 1.0), ("署名权", 1.0),
    ),
    "专利": (
        ("专利", 1.0), ("发明专利", 1.0), ("实用新型", 1.5), ("外观设计", 1.5),
        ("专利权", 1.0), ("假冒专利", 1.5), ("权利要求", 0.5), ("发明", 0.3),
    ),
}
"""Category → (keyword, weight). Overlapping keywords (注册商标 contains 商标) add up on purpose."""

_LAW_TITLE_EXTRAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("反不正当竞争", ("不正当竞争", "商业秘密")),
)
"""A statute's title places it in categories its words alone would not (反不正当竞争法
protects trade secrets, 第九条/第十条)."""

_LAW_TITLE = re.compile(r"(法|条例|细则|规定|解释|办法|决定|批复|修正案（[^）]*）)$")

TITLE_WEIGHT = 3.0
HINT_WEIGHT = 3.0
TEXT_WEIGHT = 0.25
TEXT_CAP = 3.0
"""A keyword in the title or a hint counts 3×; in the text 0.25× per occurrence, at most
3 per keyword, so a long judgment cannot outvote its own title."""
_MIN_SCORE = 0.5
_RELATIVE_FLOOR = 0.3


def category_scores(title: str, text: str, *, hints: Sequence[str] = ()) -> dict[str, float]:
    """Score of every category with a positive score (for explaining a classification)."""
    title = title or ""
    hint_text = "\n".join(h for h in hints if h)
    scores: dict[str, float] = {}
    for category, keywords in CATEGORY_KEYWORDS.items():
        score = 0.0
        for keyword, weight in keywords:
            score += weight * TITLE_WEIGHT * min(title.count(keyword), 1)
            score += weight * HINT_WEIGHT * min(hint_text.count(keyword), 1)
            if text:
                score += weight * min(TEXT_WEIGHT * text.count(keyword), TEXT_CAP)
        if score > 0:
            scores[category] = score
    if _LAW_TITLE.search(title.strip()):
        for marker, categories in _LAW_TITLE_EXTRAS:
            if marker in title:
                top = max(scores.values(), default=0.0)
                for rank, category in enumerate(categories):
                    scores[category] = max(scores.get(category, 0.0), top * (1.0 - 0.1 * (rank + 1)))
    return scores


def classify_ip(title: str, text: str, *, hints: Sequence[str] = ()) -> tuple[str, ...]:
    """The IP categories of a document, most relevant first; never empty (``其他``).

    ``hints`` are short labels that say what the document is about: 案由, charges
    (假冒注册商标罪), keywords. A category is kept when it scores at least 30% of the
    best one, so 侵害技术秘密纠纷 gives (商业秘密, 不正当竞争) and a trademark case
    that mentions 著作权 once stays (商标,).
    """
    scores = category_scores(title, text, hints=hints)
    if not scores:
        return ("其他",)
    best = max(scores.values())
    if best < _MIN_SCORE:
        return ("其他",)
    order = {category: index for index, category in enumerate(IP_CATEGORIES)}
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], order.get(kv[0], 99)))
    return tuple(c for c, s in ranked if s >= max(_MIN_SCORE, _RELATIVE_FLOOR * best))


# --- authority -----------------------------------------------------------------------------

_LABEL_TO_CODE = {label: code for code, label in DOC_TYPES.items()}
_GAZETTE = ("公报", "参考案例", "人民法院案例库", "入库案例")
_GUIDING_TITLE = re.compile(r"^\s*指导(?:性)?案例\s*第?\s*\d+\s*号")


def authority_tier(doc_type: str, *, source: str = "", title: str = "") -> int | None:
    """How binding a case is: 1 指导性案例, 2 公报案例 / 人民法院案例库参考案例, 3 other
    judgments; ``None`` for documents that are not cases (laws, policies).

    ``doc_type`` is a code (``judgment``) or its Chinese label (``裁判文书``). A
    judgment titled 指导案例N号 is a guiding case filed under the wrong type: tier 1.
    """
    code = _LABEL_TO_CODE.get((doc_type or "").strip(), (doc_type or "").strip())
    if code not in CASE_TYPES:
        return None
    if code == "guiding_case" or _GUIDING_TITLE.match(title or ""):
        return 1
    where = f"{source or ''}\n{title or ''}"
    if any(marker in where for marker in _GAZETTE):
        return 2
    return 3


# --- topics --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TopicSpec:
    """A guideline topic an enterprise browses.

    A document belongs to the topic when one of its IP categories is in
    ``categories``, when its title, keywords or cause contain one of ``keywords``,
    when it is (or cites) one of ``laws``, or when its text contains ``text_keywords``
    at least ``min_text_hits`` times in all (a passing mention is not enough).
    """

    key: str
    label: str
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    laws: tuple[str, ...] = ()
    text_keywords: tuple[str, ...] = ()
    min_text_hits: int = 3


TOPICS: dict[str, TopicSpec] = {
    spec.key: spec for spec in (
        TopicSpec("trade_secret", "商业秘密", categories=("商业秘密",),
                  keywords=("商业秘密", "技术秘密", "经营秘密", "保密协议", "竞业限制"),
                  laws=("最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定",),
                  text_keywords=("商业秘密", "技术秘密")),
        TopicSpec("trademark", "商标", categories=("商标", "地理标志"),
                  keywords=("商标", "地理标志"),
                  laws=("商标法", "商标法实施条例", "广东省地理标志条例"),
                  text_keywords=("注册商标", "商标权")),
        TopicSpec("patent", "专利", categories=("专利",),
                  keywords=("专利", "实用新型", "外观设计"),
                  laws=("专利法", "专利法实施细则", "专利代理条例", "国防专利条例"),
                  text_keywords=("专利权",)),
        TopicSpec("copyright", "著作权", categories=("著作权",),
                  keywords=("著作权", "版权", "计算机软件", "信息网络传播权"),
                  laws=("著作权法", "著作权法实施条例", "计算机软件保护条例", "信息网络传播权保护条例",
                        "著作权集体管理条例", "实施国际著作权条约的规定", "广东省版权条例"),
                  text_keywords=("著作权",)),
        TopicSpec("ecommerce", "电子商务", keywords=(
                      "电子商务", "电商", "网络平台", "平台内经营者", "网店", "网络店铺", "直播带货",
                      "淘宝", "天猫", "京东", "拼多多"),
                  laws=("电子商务法", "上海市促进电子商务发展规定", "浙江省电子商务条例",
                        "杭州市跨境电子商务促进条例",
                        "最高人民法院关于涉网络知识产权侵权纠纷几个法律适用问题的批复"),
                  text_keywords=("电子商务平台", "平台内经营者", "网络服务提供者", "电商平台", "网店")),
        TopicSpec("exhibition", "展会", keywords=("展会", "展览会", "博览会", "交易会", "展销会", "参展"),
                  laws=("世界博览会标志保护条例", "展会知识产权保护办法"),
                  text_keywords=("展会", "展览会", "博览会", "交易会", "参展", "展位")),
        TopicSpec("customs", "海关", keywords=("海关", "边境措施", "进出口货物"),
                  laws=("海关法", "知识产权海关保护条例"),
                  text_keywords=("海关",)),
    )
}
"""The topics in the order the app shows them."""


def topics_for(doc: Document) -> tuple[str, ...]:
    """Keys of the topics a document belongs to, in :data:`TOPICS` order (may be empty)."""
    categories = set(doc.ip_categories) if doc.ip_categories else set(
        classify_ip(doc.title, doc.text, hints=(*doc.keywords, doc.cause or "")))
    labels = "\n".join((doc.title or "", doc.cause or "", *doc.keywords))
    laws = {doc.law_name} if doc.law_name else set()
    laws |= {c.law for c in doc.citations}
    out = []
    for key, spec in TOPICS.items():
        if categories.intersection(spec.categories) \
                or any(k in labels for k in spec.keywords) \
                or laws.intersection(spec.laws) \
                or sum(doc.text.count(k) for k in spec.text_keywords) >= spec.min_text_hits:
            out.append(key)
    return tuple(out)
