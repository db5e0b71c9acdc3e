"""kb.coursepack: pure edits, atomic storage, Markdown and Word exports."""
from __future__ import annotations

import io
import json

import pytest
from docx import Document as DocxDocument

from kb.coursepack import (
    CoursePack,
    PackItem,
    PackStore,
    add_item,
    annotate,
    export_docx,
    export_markdown,
    move_down,
    move_up,
    new_pack,
    pack_file_name,
    remove_item,
)
from kb.errors import DocumentNotFoundError, QueryError, StoreError

# Real article texts copied from corpus/ (反不正当竞争法(2019-04-23).md, 商业秘密规定(2020)).
ART9 = PackItem(
    kind="article", ref="反不正当竞争法(2019)#9", title="中华人民共和国反不正当竞争法 第九条",
    text="第九条　经营者不得实施下列侵犯商业秘密的行为：\n（一）以盗窃、贿赂、欺诈、胁迫、电子侵入或者其他不正当手段获取权利人的商业秘密；",
    source="《中华人民共和国反不正当竞争法》（法律，2019-04-23，已被修订） LawRefBook/Laws")
RULE5 = PackItem(
    kind="article", ref="最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020)#5",
    title="商业秘密规定 第五条",
    text="第五条　权利人为防止商业秘密泄露，在被诉侵权行为发生以前所采取的合理保密措施，人民法院应当认定为反不正当竞争法第九条第四款所称的相应保密措施。",
    source="《最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定》（司法解释，2020-09-10）")
GIST = PackItem(kind="holding", ref="指导案例87号#gist", title="指导案例87号 裁判要点",
                text="假冒注册商标犯罪的非法经营数额、违法所得数额，应当综合被告人供述、证人证言……",
                source="指导案例87号（最高人民法院）")


def _pack(*items):
    pack = new_pack("商业秘密培训", "商业秘密保护实务")
    for item in items:
        pack = add_item(pack, item)
    return pack


def test_edits_return_new_packs_and_keep_the_original():
    base = _pack(ART9, RULE5, GIST)
    assert [i.ref for i in base.items] == [ART9.ref, RULE5.ref, GIST.ref]
    moved = move_up(base, GIST.id)
    assert [i.id for i in moved.items] == [ART9.id, GIST.id, RULE5.id]
    assert [i.id for i in base.items] == [ART9.id, RULE5.id, GIST.id]
    assert [i.id for i in move_up(moved, ART9.id).items] == [i.id for i in moved.items]  # stops at the top
    assert [i.id for i in move_down(base, GIST.id).items] == [i.id for i in base.items]  # and at the bottom
    assert [i.id for i in move_down(base, ART9.id).items] == [RULE5.id, ART9.id, GIST.id]
    noted = annotate(base, RULE5.id, "  注意“合理”二字  ")
    assert noted.items[1].note == "注意“合理”二字" and base.items[1].note == ""
    removed = remove_item(noted, ART9.id)
    assert [i.id for i in removed.items] == [RULE5.id, GIST.id]
    with pytest.raises(DocumentNotFoundError):
        remove_item(removed, ART9.id)


def test_adding_the_same_item_twice_keeps_one_and_its_note():
    pack = annotate(_pack(ART9), ART9.id, "重点")
    again = add_item(pack, ART9)
    assert len(again.items) == 1 and again.items[0].note == "重点"
    assert PackItem("article", ART9.ref, "x").id == ART9.id
    assert PackItem("document", ART9.ref, "x").id != ART9.id


def test_bad_kind_and_empty_name_are_refused():
    with pytest.raises(QueryError):
        PackItem(kind="video", ref="x", title="x")
    with pytest.raises(QueryError):
        new_pack(" \x00\n ")


def test_store_round_trip_atomic_and_last_used(tmp_path):
    store = PackStore(tmp_path)
    assert store.names() == [] and store.last_used() is None
    pack = annotate(_pack(ART9, RULE5), RULE5.id, "批注")
    path = store.save(pack)
    assert path.parent == tmp_path / "packs" and path.suffix == ".json"
    assert [p.name for p in (tmp_path / "packs").iterdir() if p.name.endswith(".part")] == []
    loaded = store.load("商业秘密培训")
    assert loaded == pack
    assert json.loads(path.read_text(encoding="utf-8"))["items"][1]["note"] == "批注"
    assert store.last_used() == "商业秘密培训"
    store.save(new_pack("第二个"))
    assert store.last_used() == "第二个"
    assert set(store.names()) == {"商业秘密培训", "第二个"}
    with pytest.raises(DocumentNotFoundError):
        store.load("没有这个")


def test_a_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    store = PackStore(tmp_path)
    store.save(_pack(ART9))
    import kb.files

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(kb.files.os, "replace", boom)
    with pytest.raises(OSError):
        store.save(_pack(ART9, RULE5))
    monkeypatch.undo()
    assert len(store.load("商业秘密培训").items) == 1
    assert [p for p in (tmp_path / "packs").iterdir() if p.name.startswith(".tmp-")] == []


def test_corrupt_pack_file_is_a_store_error(tmp_path):
    store = PackStore(tmp_path)
    store.save(_pack(ART9))
    store.path_for("商业秘密培训").write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreError):
        store.load("商业秘密培训")
    assert store.names() == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs/path", "a\\b", "con:*?", "名" * 300, "..", "a\x00b"])
def test_pack_file_names_stay_in_the_packs_folder(tmp_path, name):
    store = PackStore(tmp_path)
    path = store.save(new_pack(name))
    assert path.resolve().parent == (tmp_path / "packs").resolve()
    assert "/" not in pack_file_name(name) and len(path.name) < 100
    assert store.load(name).name == new_pack(name).name


def test_similar_names_get_different_files():
    assert pack_file_name("a/b") != pack_file_name("a_b")


def test_markdown_export_lists_items_in_order_with_notes_and_sources():
    pack = annotate(move_up(_pack(ART9, RULE5, GIST), GIST.id), GIST.id, "讨论：如何认定非法经营数额")
    md = export_markdown(pack)
    assert md.startswith("# 商业秘密保护实务\n")
    positions = [md.index(f"## {n}. {item.title}") for n, item in enumerate(pack.items, start=1)]
    assert positions == sorted(positions)
    assert [i.ref for i in pack.items] == [ART9.ref, GIST.ref, RULE5.ref]
    assert "> 第九条　经营者不得实施下列侵犯商业秘密的行为：" in md
    assert "**批注：** 讨论：如何认定非法经营数额" in md
    sources_part = md.split("## 资料来源", 1)[1]
    for item in pack.items:
        assert item.source in sources_part
    contents = md.split("## 目录", 1)[1].split("## 1.", 1)[0]
    assert contents.index(ART9.title) < contents.index(GIST.title) < contents.index(RULE5.title)


def test_docx_export_opens_and_holds_title_toc_items_and_sources():
    bad = PackItem(kind="passage", ref="x#1", title="含控制字符\x0b的段落", text="正文\x00里有NUL\x1f", source="来源\x07")
    pack = annotate(_pack(ART9, RULE5, bad), RULE5.id, "合理保密措施的认定")
    data = export_docx(pack)
    doc = DocxDocument(io.BytesIO(data))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "商业秘密保护实务"
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["目录", f"1. {ART9.title}", f"2. {RULE5.title}", "3. 含控制字符的段落", "资料来源"]
    body = "\n".join(texts)
    assert "经营者不得实施下列侵犯商业秘密的行为" in body and "正文里有NUL" in body
    assert "批注：合理保密措施的认定" in body
    assert body.count(ART9.source) == 2  # under the item and in the sources list
    xml = doc.element.xml
    assert 'TOC \\o "1-3"' in xml and 'w:fldCharType="begin"' in xml
    assert 'w:eastAsia="SimSun"' in doc.styles.element.xml


def test_empty_pack_exports():
    pack = new_pack("空")
    assert "## 资料来源" in export_markdown(pack)
    assert DocxDocument(io.BytesIO(export_docx(pack))).paragraphs[0].text == "空"


def test_from_dict_tolerates_missing_optional_fields():
    pack = CoursePack.from_dict({"name": "n", "items": [{"kind": "document", "ref": "r", "title": "t"}]})
    assert pack.title == "n" and pack.items[0].note == "" and pack.items[0].text == ""
