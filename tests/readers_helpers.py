"""Builders for the reader tests: real corpus text laid out as PDF and Word files.

The text comes from tests/fixtures/readers/ (real, see SOURCES.md); the layout
(page size, running header "某某法院民事判决书", "第 N 页" footers) is made up
here, like a court's PDF. Builders that make something synthetic say so.
"""
from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "readers"

RUNNING_HEADER = "某某法院民事判决书"
"""Placeholder court header (synthetic layout around real text)."""


def patent_law_text() -> str:
    """专利法 (2020), from its title up to 第五条 (LawRefBook Markdown, real)."""
    return (FIXTURES / "patent_law_2020_art1-5.md").read_text(encoding="utf-8")


def patent_law_articles() -> list[str]:
    """The article paragraphs of the excerpt: lines after the chapter heading, blank lines dropped."""
    body = patent_law_text().split("## 第一章 总则", 1)[1]
    return [line for line in body.split("\n") if line.strip()]


def guiding_case_lines() -> list[str]:
    """指导案例20号, title to the first 裁判理由 paragraph, one line per paragraph (real)."""
    text = (FIXTURES / "guiding_case_20_excerpt.txt").read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line]


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, columns: int) -> list[str]:
    """Break ``text`` into printed lines of at most ``columns`` (CJK counts two)."""
    lines, current = [], ""
    for ch in text:
        if current and width(current + ch) > columns:
            lines.append(current)
            current = ""
        current += ch
    if current:
        lines.append(current)
    return lines


@dataclass
class PrintLine:
    """One printed line: ``label`` (drawn first, then a gap) and ``text``; ``para`` numbers the paragraph."""

    text: str
    para: int
    label: str = ""


HEADING_LINES = frozenset({"裁判要点", "相关法条", "基本案情", "裁判结果", "裁判理由"})


def layout_paragraphs(paragraphs: list[str], columns: int = 64) -> list[PrintLine]:
    """Lay paragraphs out as a court document would: body paragraphs indented by two U+3000.

    The first three paragraphs (title, issue line, keywords), the section
    headings and articles are not indented. Lines wrap by width (CJK counts
    two columns), so a line may start with 。 or ） as naive typesetting does.
    A paragraph starting ``第X条 `` (half-width space, as in the corpus Markdown)
    is printed as the label ``第X条`` followed by a gap, so that pypdf reports
    ASCII spaces where print shows the full-width space.
    """
    out: list[PrintLine] = []
    for number, paragraph in enumerate(paragraphs):
        label = ""
        if paragraph.startswith("第") and "条 " in paragraph[:8]:
            label, paragraph = paragraph.split(" ", 1)
        indent = "" if paragraph in HEADING_LINES or number < 3 or label else "\u3000\u3000"
        first_columns = columns - (width(label) + 2 if label else 0)
        lines = wrap(indent + paragraph, first_columns)
        rest = wrap("".join(lines[1:]), columns) if len(lines) > 1 else []
        out.append(PrintLine(lines[0], number, label))
        out.extend(PrintLine(line, number) for line in rest)
    return out


def make_court_pdf(
    lines: list[PrintLine],
    *,
    lines_per_page: int = 14,
    header: str = RUNNING_HEADER,
    title: str | None = "指导案例20号",
) -> tuple[bytes, int]:
    """A born-digital PDF (reportlab, CID font STSong-Light) with header and "第 N 页" footer.

    Returns the PDF bytes and the number of paragraphs that continue across a
    page break (so tests can check that case really occurs).
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    if title:
        pdf.setTitle(title)
    pages = [lines[i:i + lines_per_page] for i in range(0, len(lines), lines_per_page)]
    crossing = 0
    for number, page in enumerate(pages, start=1):
        if number > 1 and page[0].para == pages[number - 2][-1].para:
            crossing += 1
        pdf.setFont("STSong-Light", 10)
        pdf.drawCentredString(A4[0] / 2, 800, header)
        y = 770
        for line in page:
            text = pdf.beginText(60, y)
            text.setFont("STSong-Light", 10)
            if line.label:
                text.textOut(line.label)
                text.setXPos(10 * (len(line.label) + 1))
            text.textOut(line.text)
            pdf.drawText(text)
            y -= 18
        pdf.setFont("STSong-Light", 10)
        pdf.drawCentredString(A4[0] / 2, 40, f"第 {number} 页")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue(), crossing


def expected_paragraphs(paragraphs: list[str]) -> list[str]:
    """What the PDF reader should give back: ``第X条`` followed by U+3000, nothing else changed."""
    out = []
    for paragraph in paragraphs:
        if paragraph.startswith("第") and "条 " in paragraph[:8]:
            label, rest = paragraph.split(" ", 1)
            paragraph = f"{label}\u3000{rest}"
        out.append(paragraph)
    return out


def court_pdf_paragraphs() -> list[str]:
    """Guiding case 20 lines followed by 专利法 第一条–第三条: the content of the test PDF."""
    return guiding_case_lines() + patent_law_articles()[:4]


def make_scanned_pdf(pages: int = 2) -> bytes:
    """A PDF whose pages hold only an image and drawn shapes: no text layer, like a scan."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("L", (400, 560), 255)
    draw = ImageDraw.Draw(image)
    for row in range(20, 540, 24):
        draw.rectangle((30, row, 370, row + 10), fill=0)  # "lines of print" as black bars
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    for _ in range(pages):
        pdf.drawImage(ImageReader(image), 60, 100, width=400, height=560)
        pdf.rect(50, 90, 420, 580)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_pdf_without_unicode_map(seed: int = 7) -> bytes:
    """SYNTHETIC: a hand-built PDF whose Type0/Identity-H font has no ToUnicode map.

    This is the structure some PDF producers emit; glyph ids here are arbitrary
    (seeded), so text extraction yields what any extractor yields for such a
    font: code points chosen by glyph id, i.e. unreadable characters.
    """
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(30):
        gids = "".join(f"{rng.randint(3, 900):04X}" for _ in range(30))
        rows.append(f"BT /F1 12 Tf 50 {800 - 20 * i} Td <{gids}> Tj ET".encode())
    content = b"\n".join(rows)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+SimSun /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+SimSun "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        b"/FontDescriptor 7 0 R /DW 1000 >>",
        b"<< /Type /FontDescriptor /FontName /ABCDEF+SimSun /Flags 4 /FontBBox [0 -141 1000 859] "
        b"/ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 700 /StemV 80 >>",
    ]
    return assemble_pdf(objects, header=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")


def assemble_pdf(objects: list[bytes], *, header: bytes = b"%PDF-1.4\n") -> bytes:
    """A PDF file of numbered objects (object 1 the catalog) with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(header)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def encrypt_pdf(data: bytes, user_password: str, owner_password: str = "owner") -> bytes:
    """``data`` re-written by pypdf with RC4-128 encryption (no extra crypto package needed)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_empty_pdf() -> bytes:
    """A well-formed PDF with zero pages (pypdf writer)."""
    from pypdf import PdfWriter

    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    return buffer.getvalue()


# --- Word ------------------------------------------------------------------------------

AMENDMENT_ROWS = [
    ("1984年3月12日", "第六届全国人民代表大会常务委员会第四次会议通过"),
    ("1992年9月4日", "第七届全国人民代表大会常务委员会第二十七次会议", "第一次修正"),
    ("2000年8月25日", "第九届全国人民代表大会常务委员会第十七次会议", "第二次修正"),
]
"""Rows of a table built from the 专利法 excerpt's amendment lines (real dates and sessions)."""


def make_patent_law_docx() -> bytes:
    """A Word file: title, chapter heading, articles 第一条–第三条 and an amendment table.

    The first row merges its last two cells (horizontal merge) so that the
    reader's merged-cell handling is exercised.
    """
    import docx

    document = docx.Document()
    document.core_properties.title = "中华人民共和国专利法"
    document.add_heading("中华人民共和国专利法", level=0)
    document.add_heading("第一章 总则", level=1)
    for article in patent_law_articles()[:3]:
        document.add_paragraph(article)
    document.add_heading("修正情况", level=2)
    table = document.add_table(rows=len(AMENDMENT_ROWS), cols=3)
    for row, values in zip(table.rows, AMENDMENT_ROWS):
        if len(values) == 2:
            merged = row.cells[1].merge(row.cells[2])
            row.cells[0].text, merged.text = values
        else:
            for cell, value in zip(row.cells, values):
                cell.text = value
    document.add_paragraph("")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/content-types"/>'
)


def make_zip_bomb_docx(unpacked: int = 5 * 1024 * 1024) -> bytes:
    """SYNTHETIC: a .docx-shaped ZIP whose word/document.xml is ``unpacked`` zero bytes."""
    return make_zip({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"\0" * unpacked})


def make_many_members_docx(count: int = 20_000) -> bytes:
    """SYNTHETIC: a .docx-shaped ZIP with ``count`` one-byte members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", b"<w:document/>")
        for i in range(count):
            archive.writestr(f"word/media/m{i}.bin", b"x")
    return buffer.getvalue()
