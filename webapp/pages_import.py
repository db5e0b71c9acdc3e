"""导入: upload files, store them safely under the KB home, ingest them, report per file.

Uploads are saved by :func:`kb.uploads.store_upload` (generated names, suffix
allow-list, size limit) and then ingested with the same pipeline as ``kb ingest``,
under the knowledge base's write lock. A rejected file is listed with its reason;
nothing already in the knowledge base is touched by a failure.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from kb.errors import InputError, KBError, LockedError
from kb.knowledge import KnowledgeBase
from kb.uploads import DEFAULT_MAX_UPLOAD_BYTES, UPLOAD_SUFFIXES, discard_upload, store_upload

from .widgets import html_block, link, md_text

MAX_MB = DEFAULT_MAX_UPLOAD_BYTES // (1024 * 1024)


def render(kb: KnowledgeBase) -> None:
    st.caption(f"上传法律法规、司法解释、裁判文书等文件加入知识库。支持 {'、'.join(sorted(s[1:] for s in UPLOAD_SUFFIXES))}，"
               f"单个文件不超过 {MAX_MB} MB。文件以随机名称保存在知识库目录的 uploads/ 下，原文件名仅作记录；"
               "扫描件 PDF（无文字层）无法导入。")
    files = st.file_uploader("选择文件", accept_multiple_files=True, key="upload_files",
                             type=sorted(s[1:] for s in UPLOAD_SUFFIXES), max_upload_size=MAX_MB)
    if st.button("导入知识库", key="upload_run", type="primary", disabled=not files, icon=":material/upload:"):
        st.session_state["import_report"] = ingest_uploads(kb, files or [])
    report = st.session_state.get("import_report")
    if report:
        _show(report)


def ingest_uploads(kb: KnowledgeBase, files) -> dict:
    """Store then ingest the uploaded files; returns what to show (plain data, kept in the session)."""
    from ingest.pipeline import ingest_paths
    before = kb.store.table_count("documents")
    rejected: list[tuple[str, str]] = []
    stored: dict[str, str] = {}
    for upload in files:
        try:
            path = store_upload(kb.home, upload.name, upload.getvalue(), max_bytes=DEFAULT_MAX_UPLOAD_BYTES)
        except InputError as exc:
            rejected.append((exc.path, exc.reason))
            continue
        stored[str(path)] = upload.name
    out = {"rejected": rejected, "added": [], "replaced": [], "duplicates": [], "unchanged": 0, "before": before,
           "after": before, "locked": False, "error": None}
    if not stored:
        return out
    bar = st.progress(0.0, text="正在导入…")
    done = {"files": 0}

    def on_file(path: str) -> None:
        done["files"] += 1
        bar.progress(min(1.0, done["files"] / len(stored)), text=f"正在处理 {stored.get(path, Path(path).name)}")
    try:
        with kb.writing():
            report = ingest_paths(kb, list(stored), max_bytes=DEFAULT_MAX_UPLOAD_BYTES, on_file=on_file)
    except LockedError:
        out["locked"] = True
        _discard_all(kb, stored)
        return out
    except KBError as exc:
        out["error"] = str(exc)
        _discard_all(kb, stored)
        return out
    finally:
        bar.empty()
    for failed, reason in report.failures:
        rejected.append((_original(stored, failed), reason))
    out.update(added=report.added, replaced=report.replaced, unchanged=len(report.unchanged),
               duplicates=[(_original(stored, name), dup) for name, dup in report.duplicates],
               after=kb.store.table_count("documents"))
    for path in stored:
        known = kb.store.source(str(Path(path).resolve()))
        if not known or not known[1]:
            discard_upload(kb.home, path)  # only our copy of a file that gave no document
    return out


def _original(stored: dict[str, str], name: str) -> str:
    """The user's file name for a stored path (keeping a record locator such as ``line 3``)."""
    for path, original in stored.items():
        if name.startswith(path):
            return original + name[len(path):]
    return Path(name).name


def _discard_all(kb: KnowledgeBase, stored: dict[str, str]) -> None:
    for path in stored:
        discard_upload(kb.home, path)


def _show(report: dict) -> None:
    if report["locked"]:
        st.error("另一个导入正在进行（知识库已被锁定），本次没有导入任何文件，请稍后再试。", icon="🔒")
    if report["error"]:
        st.error(f"导入中止：{md_text(report['error'])}。知识库中已有的内容未受影响。")
    added, replaced = report["added"], report["replaced"]
    if added or replaced:
        st.success(f"新增 {len(added)} 件，更新 {len(replaced)} 件。知识库现有 {report['after']} 件文书"
                   f"（导入前 {report['before']} 件）。", icon="✅")
        items = "".join(f"<li>{link(doc_id, doc_id)}</li>" for doc_id in added + replaced)
        html_block(f'<ul class="kb-list">{items}</ul>')
    for name, dup in report["duplicates"]:
        st.info(f"{md_text(name)}：与已有文书 {md_text(dup)} 内容相同，未重复导入。")
    if report["unchanged"]:
        st.caption(f"{report['unchanged']} 件与知识库中的版本相同，未改动。")
    if report["rejected"]:
        st.markdown(f"**未导入的文件（{len(report['rejected'])}）**")
        for name, reason in report["rejected"]:
            st.error(f"{md_text(name)}：{md_text(reason)}", icon="⛔")
