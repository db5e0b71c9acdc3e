"""Course packs: a trainer's ordered selection of documents, holdings and articles.

A pack keeps a *snapshot* of each item's text and where it came from, so that an
exported pack reads the same after the knowledge base is rebuilt, and says which
version of a law it quotes. Packs are small JSON files under ``HOME/packs/``,
written atomically (temporary file + ``os.replace``), one file per pack; the file
name is derived from the pack's name (cleaned, plus a hash so that two names never
share a file). Every edit is a pure function returning a new pack; :class:`PackStore`
only reads and writes.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable

from .files import atomic_write
from .errors import DocumentNotFoundError, QueryError, StoreError

PACK_DIR = "packs"
LAST_USED_FILE = ".last_used"
ITEM_KINDS: dict[str, str] = {
    "document": "文书",
    "holding": "裁判要点",
    "article": "条文",
    "section": "章节",
    "passage": "段落",
}
"""Item kinds and their Chinese labels."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UNSAFE_FILE_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")
MAX_NAME_CHARS = 80


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())


# --- the model ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PackItem:
    """One item of a pack. ``ref`` is a document id or ``id#anchor``; ``text`` the snapshot."""

    kind: str
    ref: str
    title: str
    text: str = ""
    source: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ITEM_KINDS:
            raise QueryError(f"unknown pack item kind {self.kind!r}; use one of {', '.join(ITEM_KINDS)}")

    @property
    def id(self) -> str:
        """Stable id from kind and ref: the same article is one item, however often it is added."""
        return hashlib.sha1(f"{self.kind}|{self.ref}".encode("utf-8")).hexdigest()[:12]

    @property
    def kind_label(self) -> str:
        return ITEM_KINDS[self.kind]


@dataclass(frozen=True)
class CoursePack:
    """A named, ordered list of items. ``name`` identifies it; ``title`` is what exports print."""

    name: str
    title: str
    items: tuple[PackItem, ...] = ()
    created: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)

    def index_of(self, item_id: str) -> int:
        for i, item in enumerate(self.items):
            if item.id == item_id:
                return i
        raise DocumentNotFoundError(f"pack {self.name!r} has no item {item_id!r}")

    def to_dict(self) -> dict:
        return asdict(self) | {"items": [asdict(i) for i in self.items]}

    @classmethod
    def from_dict(cls, data: dict) -> "CoursePack":
        items = tuple(PackItem(**{k: item.get(k, "") for k in ("kind", "ref", "title", "text", "source", "note")})
                      for item in data.get("items", ()))
        return cls(name=data["name"], title=data.get("title") or data["name"], items=items,
                   created=data.get("created") or now_iso(), updated=data.get("updated") or now_iso())


def new_pack(name: str, title: str | None = None) -> CoursePack:
    name = clean_name(name)
    return CoursePack(name=name, title=(title or name).strip() or name)


def clean_name(name: str) -> str:
    """A pack name without control characters and surrounding space; refused when empty."""
    cleaned = re.sub(r"[\x00-\x1f\x7f]", "", name or "").strip()[:MAX_NAME_CHARS]
    if not cleaned:
        raise QueryError("a course pack needs a name")
    return cleaned


# --- edits (pure) ---------------------------------------------------------------------------

def _touch(pack: CoursePack, items: Iterable[PackItem]) -> CoursePack:
    return replace(pack, items=tuple(items), updated=now_iso())


def add_item(pack: CoursePack, item: PackItem) -> CoursePack:
    """Append ``item``; an item with the same id is replaced in place (its note is kept)."""
    items = list(pack.items)
    for i, old in enumerate(items):
        if old.id == item.id:
            items[i] = replace(item, note=item.note or old.note)
            return _touch(pack, items)
    return _touch(pack, items + [item])


def remove_item(pack: CoursePack, item_id: str) -> CoursePack:
    index = pack.index_of(item_id)
    return _touch(pack, pack.items[:index] + pack.items[index + 1:])


def move_item(pack: CoursePack, item_id: str, delta: int) -> CoursePack:
    """Move an item ``delta`` places (negative: up), stopping at either end."""
    index = pack.index_of(item_id)
    target = max(0, min(len(pack.items) - 1, index + delta))
    items = list(pack.items)
    items.insert(target, items.pop(index))
    return _touch(pack, items)


def move_up(pack: CoursePack, item_id: str) -> CoursePack:
    return move_item(pack, item_id, -1)


def move_down(pack: CoursePack, item_id: str) -> CoursePack:
    return move_item(pack, item_id, +1)


def annotate(pack: CoursePack, item_id: str, note: str) -> CoursePack:
    index = pack.index_of(item_id)
    items = list(pack.items)
    items[index] = replace(items[index], note=(note or "").strip())
    return _touch(pack, items)


def retitle(pack: CoursePack, title: str) -> CoursePack:
    return replace(pack, title=(title or "").strip() or pack.name, updated=now_iso())


# --- storage -------------------------------------------------------------------------------------

def pack_file_name(name: str) -> str:
    """``{cleaned name}-{hash}.json``: readable, safe on every file system, never shared by two names."""
    name = clean_name(name)
    readable = _UNSAFE_FILE_CHARS.sub("_", name).strip(". ") or "pack"
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]
    return f"{readable[:60]}-{digest}.json"


class PackStore:
    """Reads and writes packs under ``HOME/packs/``."""

    def __init__(self, home: str | Path):
        self.dir = Path(home) / PACK_DIR

    def path_for(self, name: str) -> Path:
        return self.dir / pack_file_name(name)

    def save(self, pack: CoursePack) -> Path:
        """Write the pack atomically and remember it as the last used one."""
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.path_for(pack.name)
        atomic_write(target, json.dumps(pack.to_dict(), ensure_ascii=False, indent=1).encode("utf-8"))
        self.set_last_used(pack.name)
        return target

    def load(self, name: str) -> CoursePack:
        path = self.path_for(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DocumentNotFoundError(f"no course pack named {name!r}") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"course pack file {path} is unreadable: {exc}") from None
        return CoursePack.from_dict(data)

    def exists(self, name: str) -> bool:
        try:
            return self.path_for(name).is_file()
        except QueryError:
            return False

    def load_or_create(self, name: str) -> CoursePack:
        return self.load(name) if self.exists(name) else new_pack(name)

    def names(self) -> list[str]:
        """Names of the stored packs, most recently updated first (unreadable files are skipped)."""
        found = []
        for path in self.dir.glob("*.json") if self.dir.is_dir() else ():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                found.append((data.get("updated", ""), data["name"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return [name for _, name in sorted(found, reverse=True)]

    def delete(self, name: str) -> bool:
        path = self.path_for(name)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def last_used(self) -> str | None:
        """The pack saved or chosen last, if it still exists (survives a browser reload)."""
        try:
            name = (self.dir / LAST_USED_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name if name and self.exists(name) else None

    def set_last_used(self, name: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.dir / LAST_USED_FILE, clean_name(name).encode("utf-8"))


# --- export --------------------------------------------------------------------------------------

def _plain(text: str) -> str:
    """Text without characters XML (and so Word) cannot hold."""
    return _CONTROL.sub("", text or "")


def sources(pack: CoursePack) -> list[str]:
    """Distinct source lines in item order."""
    return list(dict.fromkeys(item.source for item in pack.items if item.source))


def export_markdown(pack: CoursePack) -> str:
    """The pack as Markdown: title, contents, items (heading, kind, text, note, source), sources."""
    lines = [f"# {pack.title}", "",
             f"> 课程包「{pack.name}」 · 共 {len(pack.items)} 项 · 创建 {pack.created} · 更新 {pack.updated}", ""]
    lines += ["## 目录", ""]
    lines += [f"{n}. {item.title}（{item.kind_label}）" for n, item in enumerate(pack.items, start=1)]
    for n, item in enumerate(pack.items, start=1):
        lines += ["", f"## {n}. {item.title}", "", f"*{item.kind_label}* · `{item.ref}`", ""]
        lines += [f"> {line}" if line.strip() else ">" for line in _plain(item.text).splitlines()] or ["> （无正文）"]
        if item.note:
            lines += ["", f"**批注：** {_plain(item.note)}"]
        if item.source:
            lines += ["", f"来源：{_plain(item.source)}"]
    lines += ["", "## 资料来源", ""]
    lines += [f"{n}. {s}" for n, s in enumerate(sources(pack), start=1)] or ["（无）"]
    return "\n".join(lines) + "\n"


def export_docx(pack: CoursePack) -> bytes:
    """The pack as a Word document: title page, contents (a TOC field plus a plain list,
    so it reads without updating fields), each item with heading, text, note and source,
    and the list of sources at the end."""
    from docx import Document as DocxDocument
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt

    doc = DocxDocument()
    _east_asian_font(doc, "SimSun")
    title = doc.add_paragraph(_plain(pack.title), style="Title")
    title.paragraph_format.space_before = Pt(120)
    doc.add_paragraph(f"课程包「{_plain(pack.name)}」 · 共 {len(pack.items)} 项")
    doc.add_paragraph(f"创建 {pack.created} · 更新 {pack.updated}")
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    doc.add_heading("目录", level=1)
    _toc_field(doc.add_paragraph())
    for n, item in enumerate(pack.items, start=1):
        doc.add_paragraph(f"{n}. {_plain(item.title)}（{item.kind_label}）", style="List Number")
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    for n, item in enumerate(pack.items, start=1):
        doc.add_heading(f"{n}. {_plain(item.title)}", level=1)
        meta = doc.add_paragraph()
        meta.add_run(f"{item.kind_label} · {_plain(item.ref)}").italic = True
        for line in _plain(item.text).splitlines() or ["（无正文）"]:
            if line.strip():
                doc.add_paragraph(line.strip())
        if item.note:
            para = doc.add_paragraph()
            para.add_run("批注：").bold = True
            para.add_run(_plain(item.note))
        if item.source:
            para = doc.add_paragraph()
            para.add_run("来源：" + _plain(item.source)).font.size = Pt(9)

    doc.add_heading("资料来源", level=1)
    for s in sources(pack) or ["（无）"]:
        doc.add_paragraph(_plain(s), style="List Number")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _east_asian_font(doc, font: str) -> None:
    """Word picks Chinese glyphs from the East Asian font slot, which python-docx leaves unset."""
    from docx.oxml.ns import qn
    for style_name in ("Normal", "Title", "Heading 1"):
        rpr = doc.styles[style_name].element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(fonts)
        fonts.set(qn("w:eastAsia"), font)


def _toc_field(paragraph) -> None:
    """A real Word TOC field (headings 1-3); Word fills it on "update field"."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def fld(kind: str):
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    run = paragraph.add_run()
    run._r.append(fld("begin"))
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = 'TOC \\o "1-3" \\h \\z \\u'
    run._r.append(instr)
    run._r.append(fld("separate"))
    placeholder = paragraph.add_run("（在 Word 中右键选择“更新域”生成带页码的目录）")
    placeholder.italic = True
    paragraph.add_run()._r.append(fld("end"))
