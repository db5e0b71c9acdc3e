"""The SQLite document store and its visibility protocol (pending → live → deleting)."""
import numpy as np
import pytest

from kb.errors import DocumentNotFoundError, SchemaVersionError, StoreError
from kb.models import Citation, Document, Filters, Passage, Section
from kb.store import DELETING, PENDING, Store


def _doc(doc_id="d1", text="合理保密措施的认定", doc_type="judgment", cats=("商业秘密",), **kw):
    sections = (Section("facts", "查明事实", text, "facts"),)
    return Document(doc_id, f"标题{doc_id}", doc_type, text, sections=sections, ip_categories=cats, **kw)


def _passages(doc):
    return [Passage(f"{doc.id}#facts", doc.id, "facts", "facts", "查明事实", doc.text, 0, True),
            Passage(f"{doc.id}#tail", doc.id, "tail", "tail", "尾部", "审判长", 1, False)]


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "kb.sqlite")
    yield s
    s.close()


def test_pending_documents_are_invisible_until_live(store):
    doc = _doc(citations=(Citation("反不正当竞争法", 9),))
    store.put_pending([(doc, _passages(doc), np.ones((1, 4), dtype=np.float32))])
    assert store.state_of("d1") == PENDING
    with pytest.raises(DocumentNotFoundError):
        store.get("d1")
    assert store.live_ids() == set()
    assert store.all_vectors()[0] == []
    assert store.citing("反不正当竞争法#9") == []
    assert store.unfinished()[PENDING] == ["d1"]
    gen = store.generation()
    store.mark_live(["d1"])
    assert store.generation() == gen + 1
    assert store.get("d1") == doc
    assert store.citing("反不正当竞争法#9") == ["d1"]
    pids, dids, matrix = store.all_vectors()
    assert pids == ["d1#facts"] and dids == ["d1"] and matrix.shape == (1, 4)


def test_vector_count_must_match_embedded_passages(store):
    doc = _doc()
    with pytest.raises(StoreError):
        store.put_pending([(doc, _passages(doc), np.ones((2, 4), dtype=np.float32))])
    assert store.state_of("d1") is None  # the transaction rolled back


def test_replace_and_purge(store):
    doc = _doc()
    store.put_pending([(doc, _passages(doc), None)])
    store.mark_live(["d1"])
    new = _doc(text="不为公众所知悉")
    store.put_pending([(new, _passages(new), None)])
    assert store.state_of("d1") == PENDING
    store.mark_live(["d1"])
    assert store.get("d1").text == "不为公众所知悉"
    assert [p.text for p in store.passages("d1")] == ["不为公众所知悉", "审判长"]
    store.mark_deleting(["d1"])
    assert store.unfinished()[DELETING] == ["d1"]
    store.purge(["d1"])
    assert store.state_of("d1") is None and store.passages("d1") == []


def test_filter_ids_hides_superseded_by_default(store):
    docs = [_doc("a", doc_type="statute", cats=("专利",), status="current"),
            _doc("b", doc_type="statute", cats=("专利", "商标"), status="superseded"),
            _doc("c", doc_type="judgment", cats=("商标",), court="最高人民法院", date="2013-12-20")]
    store.put_pending([(d, _passages(d), None) for d in docs])
    store.mark_live(["a", "b", "c"])
    assert store.filter_ids(Filters()) == {"a", "c"}
    assert store.filter_ids(Filters(include_superseded=True)) == {"a", "b", "c"}
    assert store.filter_ids(Filters(categories=("商标",), include_superseded=True)) == {"b", "c"}
    assert store.filter_ids(Filters(doc_types=("judgment",), years=(2013,))) == {"c"}
    assert store.filter_ids(Filters(courts=("北京知识产权法院",))) == set()
    assert store.counts()["doc_type"] == {"statute": 2, "judgment": 1}


def test_statutes_by_law_name(store):
    docs = [_doc("反不正当竞争法(2019)", doc_type="statute", law_name="反不正当竞争法", version="2019",
                 date="2019-04-23", status="superseded"),
            _doc("反不正当竞争法(2025)", doc_type="statute", law_name="反不正当竞争法", version="2025",
                 date="2025-06-27")]
    store.put_pending([(d, _passages(d), None) for d in docs])
    store.mark_live([d.id for d in docs])
    assert [r[0] for r in store.statutes("反不正当竞争法")] == ["反不正当竞争法(2019)", "反不正当竞争法(2025)"]
    assert store.statutes("专利法") == []


def test_sources_and_hash_lookup(store):
    doc = _doc()
    store.put_pending([(doc, _passages(doc), None)])
    assert store.find_by_hash(doc.content_hash) is None  # pending does not count
    store.mark_live(["d1"])
    assert store.find_by_hash(doc.content_hash) == "d1"
    store.record_source("/x/a.txt", "abc", ["d1"])
    assert store.source("/x/a.txt") == ("abc", ["d1"])
    store.forget_source("/x/a.txt")
    assert store.source("/x/a.txt") is None


def test_schema_version_mismatch_is_refused(tmp_path):
    s = Store(tmp_path / "kb.sqlite")
    s.set_meta("schema_version", "999")
    s.close()
    with pytest.raises(SchemaVersionError):
        Store(tmp_path / "kb.sqlite")


def test_each_thread_reads_through_its_own_connection(store):
    import threading
    doc = _doc()
    store.put_pending([(doc, _passages(doc), None)])
    store.mark_live(["d1"])
    seen, conns = [], []

    def read():
        conns.append(store.db)
        seen.append(store.get("d1").text)

    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [doc.text] * 3
    assert len({id(c) for c in conns + [store.db]}) == 4


def test_passages_for_snippet_prefers_passages_with_terms(store):
    doc = _doc(text="合理保密措施")
    passages = [Passage(f"d1#{i}", "d1", str(i), "article", f"第{i}条", t, i)
                for i, t in enumerate(["总则", "采取合理保密措施", "Apple 商标", "附则"])]
    store.put_pending([(doc, passages, None)])
    store.mark_live(["d1"])
    assert [p.id for p in store.passages_for_snippet("d1", ["保密措施", "apple"])] == ["d1#1", "d1#2"]
    assert [p.id for p in store.passages_for_snippet("d1", ["植物"], prefer="d1#3")] == ["d1#3"]
    assert [p.id for p in store.passages_for_snippet("d1", ["植物"])] == ["d1#0", "d1#1", "d1#2"]


def test_lookups_by_key_never_walk_the_state_index(store):
    """With ten ids SQLite chose the low-cardinality state index over the primary key and
    scanned every live row (23 ms per call at 20k documents); keyed lookups must not."""
    docs = [_doc(f"d{i}", text=f"文本{i}", law_name="专利法", citations=(Citation("专利法", 11),)) for i in range(12)]
    store.put_pending([(d, _passages(d), None) for d in docs])
    store.mark_live([d.id for d in docs])
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    store.summaries([d.id for d in docs[:10]])
    store.find_by_hash(docs[0].content_hash)
    store.statutes("专利法")
    store.citing("专利法#11")
    store.db.set_trace_callback(None)
    assert len(statements) == 4
    for sql in statements:
        plan = " ".join(str(row[-1]) for row in store.db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "documents_state" not in plan, (sql, plan)
