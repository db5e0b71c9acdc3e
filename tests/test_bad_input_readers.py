"""Readers on bad input: every error names the file, has the specific type and reason.

Whole-file problems raise an InputError subclass; a bad record inside a JSON
list or JSONL file becomes an entry in ReadResult.errors and the good records
are kept. Synthetic inputs are labelled as such.
"""
from __future__ import annotations

import io
import json
import os
import random
import tracemalloc
import zipfile

import pytest

from ingest import docx_reader, readers
from ingest.pdf import DAMAGED_REASON, MOJIBAKE_REASON, NO_TEXT_LAYER_REASON
from ingest.readers import DEFAULT_MAX_BYTES, TEXT_FIELDS, read_bytes, read_path
from ingest.textutil import BINARY_REASON, NOT_TEXT_REASON
from kb.errors import (
    CorruptFileError,
    EmptyDocumentError,
    EncryptedFileError,
    FileTooLargeError,
    InputError,
    NoTextLayerError,
    UnsupportedFormatError,
)
from readers_helpers import (
    court_pdf_paragraphs,
    encrypt_pdf,
    layout_paragraphs,
    make_court_pdf,
    make_empty_pdf,
    make_many_members_docx,
    make_patent_law_docx,
    make_pdf_without_unicode_map,
    make_scanned_pdf,
    make_zip,
    make_zip_bomb_docx,
    patent_law_articles,
    patent_law_text,
)

NO_TEXT_FIELD = f"no text field ({', '.join(TEXT_FIELDS)})"


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_error(path, error_type: type[InputError], **kwargs) -> InputError:
    """Read ``path`` expecting ``error_type``; check the error names the file."""
    with pytest.raises(error_type) as caught:
        read_path(path, **kwargs)
    assert type(caught.value) is error_type
    assert caught.value.path == str(path)
    return caught.value


def garbage(size: int = 4096) -> bytes:
    """SYNTHETIC: seeded random bytes (the same on every run)."""
    return random.Random(20261126).randbytes(size)


def court_pdf() -> bytes:
    data, _ = make_court_pdf(layout_paragraphs(court_pdf_paragraphs()), lines_per_page=14)
    return data


# --- whole-file problems common to all formats -------------------------------------------

@pytest.mark.parametrize("suffix", sorted(readers.SUPPORTED_SUFFIXES))
def test_empty_file_of_every_format(tmp_path, suffix):
    error = read_error(write(tmp_path, f"empty{suffix}", b""), EmptyDocumentError)
    assert error.reason == "empty file"


@pytest.mark.parametrize("name", ["表格.xls", "scan.tiff", "archive.tar.gz", "README"])
def test_unsupported_suffix_names_it_and_the_supported_ones(tmp_path, name):
    path = write(tmp_path, name, b"whatever")
    error = read_error(path, UnsupportedFormatError)
    suffix = os.path.splitext(name)[1]
    if suffix:
        assert error.reason.startswith(f"unsupported file type '{suffix}'; supported: ")
    else:
        assert error.reason.startswith("no file extension; supported: ")
    assert ".docx" in error.reason and ".jsonl" in error.reason and ".pdf" in error.reason


def test_unsupported_file_named_explicitly_is_yielded_then_reported(tmp_path):
    path = write(tmp_path, "表格.xls", b"x")
    assert list(readers.iter_input_files([path])) == [path]
    read_error(path, UnsupportedFormatError)


def test_missing_file_and_directory(tmp_path):
    assert read_error(tmp_path / "missing.txt", InputError).reason == "no such file"
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert read_error(folder, InputError).reason == "is a directory"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX-only")
def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert read_error(fifo, InputError).reason == "not a regular file"


@pytest.mark.parametrize("suffix", [".txt", ".md", ".json", ".jsonl", ".html", ".pdf", ".docx"])
def test_file_over_max_bytes_is_refused_before_reading(tmp_path, suffix):
    path = write(tmp_path, f"big{suffix}", b"x" * 2048)
    error = read_error(path, FileTooLargeError, max_bytes=1024)
    assert error.reason == "file is 2,048 bytes, over the 1,024-byte limit"


def test_read_bytes_enforces_max_bytes_too():
    with pytest.raises(FileTooLargeError) as caught:
        read_bytes(patent_law_text().encode(), "upload.txt", max_bytes=100)
    assert caught.value.path == "upload.txt"
    assert caught.value.reason.endswith("over the 100-byte limit")


def test_hundred_megabyte_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB by stat, nothing on disk
    tracemalloc.start()
    try:
        error = read_error(path, FileTooLargeError)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.reason == f"file is {100 * 1024 * 1024:,} bytes, over the {DEFAULT_MAX_BYTES:,}-byte limit"
    assert peak < 1024 * 1024  # far below the file size: nothing was read


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_file_growing_after_stat_is_still_capped(tmp_path, monkeypatch, suffix):
    # Simulate a file that grows between the size check and the read.
    path = write(tmp_path, f"growing{suffix}", b'{"text": "x"}\n' * 200)
    monkeypatch.setattr(readers, "_regular_file_size", lambda name: 10)
    error = read_error(path, FileTooLargeError, max_bytes=1000)
    assert error.reason == "file grew past the 1,000-byte limit while being read"


# --- text encodings -----------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".txt", ".md", ".json", ".html"])
def test_binary_garbage_is_not_text(tmp_path, suffix):
    error = read_error(write(tmp_path, f"garbage{suffix}", garbage()), CorruptFileError)
    assert error.reason == BINARY_REASON


def test_text_in_no_supported_encoding(tmp_path):
    # SYNTHETIC damage to real text: stray 0xFF bytes are invalid in UTF-8 and GB18030.
    data = patent_law_text().encode("utf-8").replace("，".encode(), b"\xff\xfe\xff", 3) + b"!"
    error = read_error(write(tmp_path, "damaged.txt", data), CorruptFileError)
    assert error.reason == NOT_TEXT_REASON


def test_utf8_bom_followed_by_invalid_bytes(tmp_path):
    data = b"\xef\xbb\xbf" + "第一条".encode("gb18030")
    error = read_error(write(tmp_path, "bom.txt", data), CorruptFileError)
    assert error.reason == NOT_TEXT_REASON


def test_whitespace_only_text(tmp_path):
    error = read_error(write(tmp_path, "blank.txt", "  \r\n\u3000\n\t".encode()), EmptyDocumentError)
    assert error.reason == "no text (only whitespace)"


# --- Markdown front matter ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("---\ntitle: 中华人民共和国专利法\nstatus: [现行有效\n---\n正文。\n",
         "YAML front matter does not parse (expected ',' or ']', but got '<stream end>' at line 3)"),
        ("---\ntitle: 专利法\n正文没有结束标记。\n", "YAML front matter has no closing '---' line"),
        ("---\n- 专利法\n- 商标法\n---\n正文。\n", "YAML front matter is not a mapping (got list)"),
        ("---\nbase: &b {title: 专利法}\ncopy: *b\n---\n正文。\n",
         "YAML front matter uses aliases (*name), which are not allowed"),
    ],
    ids=["does-not-parse", "unterminated", "not-a-mapping", "aliases"],
)
def test_broken_front_matter(tmp_path, source, reason):
    error = read_error(write(tmp_path, "broken.md", source.encode()), CorruptFileError)
    assert error.reason == reason


def test_markdown_with_only_front_matter(tmp_path):
    path = write(tmp_path, "only.md", "---\ntitle: 专利法\n---\n\n".encode())
    assert read_error(path, EmptyDocumentError).reason == "no text (only YAML front matter)"


# --- JSON -----------------------------------------------------------------------------------

def test_invalid_json_names_the_problem_and_place(tmp_path):
    data = '{"title": "专利法",\n "text": "第一条"\n "id": 1}'.encode()
    error = read_error(write(tmp_path, "bad.json", data), CorruptFileError)
    assert error.reason == "invalid JSON (Expecting ',' delimiter at line 3 column 2)"


def test_json_lines_saved_as_json_gets_a_hint(tmp_path):
    data = b'{"text": "a"}\n{"text": "b"}\n'
    error = read_error(write(tmp_path, "records.json", data), CorruptFileError)
    assert error.reason == (
        "invalid JSON (Extra data at line 2 column 1); one record per line is JSON Lines: name the file .jsonl"
    )


def test_deeply_nested_json_gives_a_clear_error_not_recursion(tmp_path):
    data = b"[" * 10_000 + b"]" * 10_000
    error = read_error(write(tmp_path, "deep.json", data), CorruptFileError)
    assert error.reason == "JSON nesting deeper than 100 levels"


def test_json_one_level_past_the_limit(tmp_path):
    value = {"text": "正文", "nested": json.loads("[" * 100 + "]" * 100)}  # depth 101
    error = read_error(write(tmp_path, "deep.json", json.dumps(value).encode()), CorruptFileError)
    assert error.reason == "JSON nesting deeper than 100 levels"


def test_brackets_inside_strings_do_not_count_as_nesting():
    value = {"text": "[" * 500 + "{" * 500}
    result = read_bytes(json.dumps(value).encode(), "brackets.json")
    assert result.docs[0].text == "[" * 500 + "{" * 500


def test_json_list_keeps_good_records_and_reports_bad_ones(tmp_path):
    articles = patent_law_articles()
    records = [{"text": articles[0]}, "第二条 不是对象", {"title": "无正文"}, 7, {"content": articles[1]}]
    result = read_path(write(tmp_path, "mixed.json", json.dumps(records, ensure_ascii=False).encode()))
    assert [(d.locator, d.text) for d in result.docs] == [("[0]", articles[0]), ("[4]", articles[1])]
    assert [(type(e), e.path, e.reason) for e in result.errors] == [
        (CorruptFileError, str(tmp_path / "mixed.json"), "record [1]: not a JSON object (got string)"),
        (EmptyDocumentError, str(tmp_path / "mixed.json"), f"record [2]: {NO_TEXT_FIELD}"),
        (CorruptFileError, str(tmp_path / "mixed.json"), "record [3]: not a JSON object (got number)"),
    ]


def test_json_object_without_text_field(tmp_path):
    path = write(tmp_path, "meta.json", json.dumps({"id": "spc-guiding-20", "title": "x"}).encode())
    assert read_error(path, EmptyDocumentError).reason == NO_TEXT_FIELD


@pytest.mark.parametrize(
    ("data", "error_type", "reason"),
    [
        (b"42", CorruptFileError, "JSON top level is a number, not an object or a list"),
        (b'"text"', CorruptFileError, "JSON top level is a string, not an object or a list"),
        (b"[]", EmptyDocumentError, "JSON list holds no records"),
        (b"  \n ", EmptyDocumentError, "no text (only whitespace)"),
    ],
)
def test_json_unusable_top_level(tmp_path, data, error_type, reason):
    assert read_error(write(tmp_path, "top.json", data), error_type).reason == reason


# --- JSON Lines -----------------------------------------------------------------------------

def test_jsonl_bad_lines_are_reported_with_their_numbers_and_good_ones_kept(tmp_path):
    articles = patent_law_articles()
    lines = [
        json.dumps({"context": articles[0]}, ensure_ascii=False).encode(),  # line 1: good
        b"",                                                                 # line 2: blank
        b'{"context": "\xe7\xac\xac\xe4\xb8", "id": 1',                     # 3: truncated
        json.dumps([articles[1]], ensure_ascii=False).encode(),             # 4: not an object
        b'{"text": "\xd5\xfd\xce\xc4"}',                                     # 5: GBK bytes
        json.dumps({"casename": "侵害商标权纠纷"}, ensure_ascii=False).encode(),  # 6: no text
        b"[" * 500 + b"]" * 500,                                             # 7: too deep
        json.dumps({"fact": articles[2]}, ensure_ascii=False).encode(),     # 8: good
    ]
    path = write(tmp_path, "facts.jsonl", b"\n".join(lines) + b"\n")
    result = read_path(path)
    assert [(d.locator, d.text) for d in result.docs] == [("line 1", articles[0]), ("line 8", articles[2])]
    assert [(type(e), e.path, e.reason) for e in result.errors] == [
        (CorruptFileError, str(path), "line 3: not valid UTF-8"),
        (CorruptFileError, str(path), "line 4: not a JSON object (got array)"),
        (CorruptFileError, str(path), "line 5: not valid UTF-8"),
        (EmptyDocumentError, str(path), f"line 6: {NO_TEXT_FIELD}"),
        (CorruptFileError, str(path), "line 7: JSON nesting deeper than 100 levels"),
    ]


def test_jsonl_invalid_json_line_names_the_problem(tmp_path):
    data = b'{"text": "a"}\n{"text": "b" "id": 2}\n{"text": "c"}\n'
    result = read_path(write(tmp_path, "bad.jsonl", data))
    assert [d.text for d in result.docs] == ["a", "c"]
    assert [e.reason for e in result.errors] == ["line 2: invalid JSON (Expecting ',' delimiter)"]


def test_jsonl_with_only_blank_lines(tmp_path):
    path = write(tmp_path, "blank.jsonl", b"\n  \n\r\n")
    assert read_error(path, EmptyDocumentError).reason == "no records (only blank lines)"


# --- HTML ------------------------------------------------------------------------------------

def test_html_without_visible_text(tmp_path):
    data = b"<html><head><title>t</title><script>var a = 1;</script></head><body><nav>menu</nav></body></html>"
    assert read_error(write(tmp_path, "empty.html", data), EmptyDocumentError).reason == "no visible text in HTML"


def test_html_the_stdlib_parser_gives_up_on(tmp_path):
    # SYNTHETIC: nested marked sections that html.parser's declaration scanner rejects.
    data = b"<p>\xe6\xad\xa3\xe6\x96\x87</p>" + b"<![" * 50 + b">"
    error = read_error(write(tmp_path, "broken.html", data), CorruptFileError)
    assert error.reason.startswith("malformed HTML (expected name token")


def test_html_with_unclosed_angle_brackets_at_the_end_is_read(tmp_path):
    # A '<' that no '>' follows is text, e.g. a formula cut off at the end of a page.
    data = "<p>赔偿额 = 损失 × 3</p>\n若 a < b 且 c </".encode()
    doc = read_path(write(tmp_path, "tail.html", data)).docs[0]
    assert doc.text == "赔偿额 = 损失 × 3\n若 a < b 且 c </"


# --- PDF -------------------------------------------------------------------------------------

def test_truncated_pdf(tmp_path):
    data = court_pdf()
    error = read_error(write(tmp_path, "truncated.pdf", data[: len(data) // 2]), CorruptFileError)
    assert error.reason == f"{DAMAGED_REASON} (no %%EOF marker)"


def test_pdf_with_damaged_body(tmp_path):
    # SYNTHETIC damage: the middle of a real PDF overwritten, header and %%EOF intact.
    data = bytearray(court_pdf())
    data[9:len(data) - 64] = b"\x00" * (len(data) - 73)
    error = read_error(write(tmp_path, "damaged.pdf", bytes(data)), CorruptFileError)
    assert error.reason.startswith(f"{DAMAGED_REASON} (")


def test_binary_garbage_named_pdf(tmp_path):
    error = read_error(write(tmp_path, "garbage.pdf", garbage()), CorruptFileError)
    assert error.reason == "not a PDF (no %PDF header)"


def test_encrypted_pdf(tmp_path):
    path = write(tmp_path, "secret.pdf", encrypt_pdf(court_pdf(), user_password="secret"))
    assert read_error(path, EncryptedFileError).reason == "encrypted PDF (password required)"


def test_pdf_without_text_layer(tmp_path):
    path = write(tmp_path, "scan.pdf", make_scanned_pdf(pages=2))
    assert read_error(path, NoTextLayerError).reason == NO_TEXT_LAYER_REASON


def test_pdf_whose_font_has_no_unicode_map(tmp_path):
    path = write(tmp_path, "no-tounicode.pdf", make_pdf_without_unicode_map())
    assert read_error(path, CorruptFileError).reason == MOJIBAKE_REASON


def test_pdf_without_pages(tmp_path):
    path = write(tmp_path, "no-pages.pdf", make_empty_pdf())
    assert read_error(path, CorruptFileError).reason == f"{DAMAGED_REASON} (no pages)"


# --- DOCX ------------------------------------------------------------------------------------

def test_zip_bomb_docx(tmp_path):
    data = make_zip_bomb_docx(unpacked=5 * 1024 * 1024)
    assert len(data) < 64 * 1024  # megabytes of zeros packed into kilobytes
    error = read_error(write(tmp_path, "bomb.docx", data), CorruptFileError)
    assert error.reason == "archive too large when unpacked (zip bomb?)"


def test_docx_with_too_many_members(tmp_path):
    error = read_error(write(tmp_path, "many.docx", make_many_members_docx(20_000)), CorruptFileError)
    assert error.reason == "archive too large when unpacked (zip bomb?)"


def test_docx_over_the_unpacked_size_limit(tmp_path, monkeypatch):
    # A real python-docx file against a lowered limit: the total-size rule on its own.
    data = make_patent_law_docx()
    unpacked = sum(m.file_size for m in zipfile.ZipFile(io.BytesIO(data)).infolist())
    monkeypatch.setattr(docx_reader, "MAX_UNPACKED_BYTES", unpacked - 1)
    error = read_error(write(tmp_path, "big.docx", data), CorruptFileError)
    assert error.reason == "archive too large when unpacked (zip bomb?)"
    monkeypatch.setattr(docx_reader, "MAX_UNPACKED_BYTES", unpacked)
    assert read_path(tmp_path / "big.docx").docs[0].meta["title"] == "中华人民共和国专利法"


def test_zip_that_is_not_a_word_document(tmp_path):
    data = make_zip({"readme.txt": "专利法".encode(), "data/1.csv": b"a,b\n"})
    error = read_error(write(tmp_path, "renamed.docx", data), CorruptFileError)
    assert error.reason == "not a Word document (no word/document.xml)"


def test_binary_garbage_named_docx(tmp_path):
    error = read_error(write(tmp_path, "garbage.docx", garbage()), CorruptFileError)
    assert error.reason == "not a Word document (not a ZIP archive)"


def test_legacy_doc_renamed_docx(tmp_path):
    # SYNTHETIC: only the OLE2 compound-file signature of a Word 97-2003 file.
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "WordDocument".encode("utf-16-le")
    error = read_error(write(tmp_path, "old.docx", data), CorruptFileError)
    assert error.reason == "legacy Word 97-2003 (.doc) file; save it as .docx"


def test_password_protected_docx(tmp_path):
    # SYNTHETIC: the OLE2 signature plus the EncryptedPackage stream name that Word writes.
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le")
    error = read_error(write(tmp_path, "secret.docx", data), EncryptedFileError)
    assert error.reason == "encrypted Word document (password required)"


def test_docx_with_damaged_document_xml(tmp_path):
    source = zipfile.ZipFile(io.BytesIO(make_patent_law_docx()))
    members = {name: source.read(name) for name in source.namelist()}
    members["word/document.xml"] = members["word/document.xml"][:300]  # cut mid-element
    error = read_error(write(tmp_path, "cut.docx", make_zip(members)), CorruptFileError)
    assert error.reason.startswith("damaged Word document (")


def test_docx_without_text(tmp_path):
    import docx

    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("   ")
    document.add_table(rows=2, cols=2)
    document.save(buffer)
    error = read_error(write(tmp_path, "blank.docx", buffer.getvalue()), EmptyDocumentError)
    assert error.reason == "Word document has no text"
