"""kb/analysis.py: jieba with the legal dictionary, positions, folding, highlighting, long queries.

Real text below is copied from /work/shared/corpus-src (not read at test time):
- ANTI_UNFAIR_9: 反不正当竞争法(2019-04-23) 第九条 (lawrefbook-laws/经济法/), last paragraph.
- SPC_TRADE_SECRET_5: 最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020-09-10) 第五条.
- GC30_GIST: SPC guiding case 30, 裁判要点 1 (spc-guiding-cases-ip).
- GC220_FACTS: SPC guiding case 220, 基本案情, a 560-character excerpt.
Strings marked SYNTHETIC are made up for the test and say so.
"""
from __future__ import annotations

import pickle

import pytest

from kb.analysis import (Analyzer, JiebaTokenizer, Token, best_window, discriminative_terms, fold,
                         get_analyzer, is_legal_term, is_statute_name, jieba_analyzer, load_lexicon,
                         load_stopwords, mark_terms)
from real_texts import GC220_FACTS

ANTI_UNFAIR_9 = ("本法所称的商业秘密，是指不为公众所知悉、具有商业价值并经权利人采取相应保密措施的"
                 "技术信息、经营信息等商业信息。")
SPC_TRADE_SECRET_5 = ("第五条 权利人为防止商业秘密泄露，在被诉侵权行为发生以前所采取的合理保密措施，"
                      "人民法院应当认定为反不正当竞争法第九条第四款所称的相应保密措施。")
GC30_GIST = ("1.经营者是否具有超越法定经营范围而违反行政许可法律法规的行为，不影响其依法行使制止"
             "商标侵权和不正当竞争的民事权利。")


@pytest.fixture(scope="module")
def an() -> Analyzer:
    return get_analyzer()


def words(tokens: list[Token]) -> list[str]:
    return [t.text for t in tokens]


# --- dictionary and segmentation ---------------------------------------------------------

@pytest.mark.parametrize("term", ["反不正当竞争法", "在先使用抗辩", "合理保密措施", "不为公众所知悉",
                                  "惩罚性赔偿", "销售假冒注册商标的商品"])
def test_user_dictionary_keeps_legal_terms_whole(an, term):
    # SYNTHETIC sentence around each term
    assert term in an.query_terms(f"被告提出{term}的主张")


def test_statute_name_inside_real_citation_is_one_token(an):
    terms = an.query_terms(SPC_TRADE_SECRET_5)
    assert "反不正当竞争法" in terms and "合理保密措施" in terms
    assert "正当竞争" not in terms  # without the dictionary jieba cuts 反/不/正当竞争/法


def test_sub_words_share_the_parent_position(an):
    # SYNTHETIC: 在先使用抗辩 does not occur in the corpus sources
    tokens = an.index_tokens("被告的在先使用抗辩不能成立")
    parent = next(t for t in tokens if t.text == "在先使用抗辩")
    subs = {t.text: t for t in tokens if t.pos == parent.pos and t.text != parent.text}
    assert {"在先使用", "抗辩"} <= set(subs)
    assert (subs["在先使用"].start, subs["在先使用"].end) == (parent.start, parent.start + 4)
    # query side has no sub-words
    assert "在先使用" not in an.query_terms("被告的在先使用抗辩不能成立")


def test_sub_words_follow_the_cut_not_every_ngram(an):
    subs = {s for s, _, _ in an.subwords("人民法院")}
    assert subs == {"人民", "法院"}  # 民法 straddles the cut and is not emitted
    assert an.subwords("第二十二条") == ()


def test_segmentation_equals_jieba(an):
    # the fast cut must give jieba's own pieces (real statute + judgment text)
    for text in (ANTI_UNFAIR_9, SPC_TRADE_SECRET_5, GC30_GIST, GC220_FACTS):
        folded = fold(text)
        assert [p for p, _, _ in an.segments(text)] == list(an._jieba.cut(folded, HMM=True))


def test_analyzer_owns_its_jieba_instance(an):
    import jieba
    assert an._jieba is not jieba.dt
    assert "合理保密措施" not in jieba.dt.FREQ or jieba.dt.FREQ is not an._jieba.FREQ


# --- positions ------------------------------------------------------------------------------

def test_positions_are_word_positions_without_stop_words(an):
    # SYNTHETIC: the stop word 的 does not take a position
    with_stop = [(t.text, t.pos) for t in an.query_tokens("侵犯商业秘密的行为")]
    without = [(t.text, t.pos) for t in an.query_tokens("侵犯商业秘密行为")]
    assert with_stop == without == [("侵犯", 0), ("商业秘密", 1), ("行为", 2)]


def test_clause_punctuation_leaves_a_gap(an):
    tokens = an.query_tokens("商标，侵权")  # SYNTHETIC
    assert [(t.text, t.pos) for t in tokens] == [("商标", 0), ("侵权", 2)]
    assert an.phrase_groups("商标，侵权") == [["商标"], ["侵权"]]
    # quotes and book-title marks do not break a phrase
    assert [t.pos for t in an.query_tokens("《反不正当竞争法》第九条")] == [0, 1]


def test_offsets_point_into_the_original_text(an):
    for tok in an.index_tokens(GC30_GIST):
        assert fold(GC30_GIST[tok.start:tok.end]) == tok.text


def test_positions_fast_path_matches_index_tokens(an):
    expected: dict[str, list[int]] = {}
    for tok in an.index_tokens(GC220_FACTS):
        lst = expected.setdefault(tok.text, [])
        if not lst or lst[-1] != tok.pos:
            lst.append(tok.pos)
    assert an.positions(GC220_FACTS) == expected


# --- query terms and folding ----------------------------------------------------------------------

def test_query_terms_drop_stop_words_punctuation_and_single_characters(an):
    terms = an.query_terms("原告的商业秘密，被告在先使用了。")  # SYNTHETIC
    assert "的" not in terms and "，" not in terms and "了" not in terms
    assert all(len(t) > 1 for t in terms)
    assert "原告" in terms  # kept on purpose: see kb/data/stopwords.txt


def test_single_character_query_is_kept_when_it_is_the_whole_query(an):
    assert an.query_terms("锁") == ["锁"]
    assert an.query_terms("的") == []
    assert an.query_terms("专利 的 保护") == ["专利", "保护"]


def test_full_width_and_case_folding(an):
    assert fold("ＡＢＣ公司２０１９年") == "abc公司2019年"
    assert an.query_terms("ＦＲＡＮＤ许可") == an.query_terms("frand许可") == an.query_terms("FRAND许可")
    assert "frand" in {t.text for t in an.index_tokens("ＦＲＡＮＤ")}


def test_stop_list_and_dictionary_files(an):
    stops = load_stopwords()
    assert {"的", "了", "本院", "诉称"} <= stops
    assert not {"原告", "被告", "不"} & stops
    lexicon = load_lexicon()
    assert 200 <= len(lexicon) <= 400
    assert is_legal_term("合理保密措施") and is_legal_term("反不正当竞争法")
    assert not is_legal_term("苹果")
    assert is_statute_name("专利法") and not is_statute_name("商业秘密")


# --- Whoosh tokenizer -----------------------------------------------------------------------------------

def test_jieba_tokenizer_pickles_without_jieba_state():
    tok = jieba_analyzer("index")
    data = pickle.dumps(tok)
    assert len(data) < 200  # the mode only, no dictionary
    clone = pickle.loads(data)
    assert clone == tok and isinstance(clone, JiebaTokenizer)
    assert [t.text for t in clone("合理保密措施")] == [t.text for t in tok("合理保密措施")]


def test_jieba_tokenizer_positions_chars_and_modes():
    tok = JiebaTokenizer("index")
    text = "原告采取了合理保密措施"  # SYNTHETIC
    got = [(t.text, t.pos, t.startchar, t.endchar)
           for t in tok(text, positions=True, chars=True, start_pos=10, start_char=100)]
    assert ("合理保密措施", 12, 105, 111) in got and ("保密措施", 12, 107, 111) in got
    query = [t.text for t in tok(text, mode="query")]
    assert "保密措施" not in query and "合理保密措施" in query
    kept = [(t.text, t.stopped) for t in tok(text, removestops=False)]
    assert ("了", True) in kept
    assert ("了", True) not in [(t.text, t.stopped) for t in tok(text)]


# --- highlighting -------------------------------------------------------------------------------------

def test_mark_terms_longest_first_without_overlap():
    text = ANTI_UNFAIR_9
    spans = mark_terms(text, ["保密措施", "相应保密措施", "商业秘密", "商业"])
    marked = [text[s:e] for s, e in spans]
    assert "相应保密措施" in marked and "保密措施" not in marked
    assert marked.count("商业秘密") == 1
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert mark_terms("ＦＲＡＮＤ条款", ["frand"]) == [(0, 5)]
    assert mark_terms(text, []) == []


def test_best_window_holds_most_distinct_terms():
    filler = "本案" * 100  # SYNTHETIC padding around a real sentence
    text = filler + GC30_GIST + filler
    start, end = best_window(text, ["商标侵权", "不正当竞争", "经营范围"], width=120)
    assert end - start == 120
    window = text[start:end]
    assert "商标侵权" in window and "不正当竞争" in window and "经营范围" in window
    assert best_window("短文本", ["文本"], width=120) == (0, 3)
    assert best_window(text, ["不存在"], width=50) == (0, 50)


# --- long queries ------------------------------------------------------------------------------------

def test_discriminative_terms_picks_legal_terms_of_a_case_description(an):
    assert len(GC220_FACTS) >= 500
    common = {"公司", "嘉兴", "化工", "管理", "培训"}

    def doc_freq(term: str) -> int:  # SYNTHETIC statistics for a 1000-document index
        return 700 if term in common else 40

    chosen = discriminative_terms(GC220_FACTS, doc_freq, 1000, max_terms=12)
    terms = [t for t, _ in chosen]
    assert 0 < len(chosen) <= 12
    assert not common & set(terms)  # in more than half of the documents
    assert all(w1 >= w2 for (_, w1), (_, w2) in zip(chosen, chosen[1:]))
    top = set(terms[:4])
    assert {"技术秘密", "保密协议"} <= top
    assert not any(t.isdigit() for t in terms)


def test_discriminative_terms_keeps_statutes_and_drops_unknown_terms(an):
    text = "依照反不正当竞争法的规定，被告侵犯商业秘密，应当承担赔偿责任。" * 3  # SYNTHETIC

    def doc_freq(term: str) -> int:
        return {"反不正当竞争法": 90, "商业秘密": 20, "承担": 30}.get(term, 0)

    terms = dict(discriminative_terms(text, doc_freq, 100))
    assert "反不正当竞争法" in terms  # a statute name survives df > 50%
    assert set(terms) == {"反不正当竞争法", "商业秘密", "承担"}  # df 0: not in the index
    assert terms["商业秘密"] > terms["承担"]  # rarer, and a legal term
