"""Safe storage of files uploaded through the app, before they are ingested.

An upload's name comes from a browser and can say anything: ``../../.bashrc``,
an absolute path, control characters, a NUL byte, 10,000 characters. None of it
ever reaches the file system: a stored upload is named by a fresh UUID plus the
original suffix (only when that suffix is one the readers accept), inside
``HOME/uploads/``. The original name is kept as metadata in a sidecar JSON file in
``HOME/uploads/.meta/`` (a hidden folder, so that ingesting ``HOME/uploads`` never
reads the sidecars as documents).

Nothing here executes, unpacks or interprets the bytes; the readers do that later,
with their own limits. Writes go to a temporary name first and are renamed into
place, so a half-written upload is never ingested.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from pathlib import Path
from typing import Collection

from .errors import EmptyDocumentError, FileTooLargeError, UnsafePathError, UnsupportedFormatError
from .files import atomic_write
from .formats import SUPPORTED_SUFFIXES

UPLOAD_DIR = "uploads"
META_DIR = ".meta"
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_NAME_CHARS = 200

UPLOAD_SUFFIXES: frozenset[str] = SUPPORTED_SUFFIXES
"""Uploads are limited to what the readers accept."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}$")


def display_name(original_name: str) -> str:
    """The name as it may be shown and recorded: the last path component, without
    control or bidi-override characters, at most ``MAX_NAME_CHARS`` characters."""
    name = _CONTROL.sub("", str(original_name or ""))
    name = re.split(r"[\\/]", name)[-1].strip()
    if len(name) > MAX_NAME_CHARS:
        suffix = upload_suffix(name)
        name = name[:MAX_NAME_CHARS - len(suffix) - 1] + "…" + suffix
    return name


def upload_suffix(name: str) -> str:
    """The lower-case suffix (``.pdf``) of a name, or ``""`` when it has none that looks like one."""
    match = _SUFFIX.search(name)
    return match.group(0).lower() if match else ""


def uploads_dir(home: str | Path) -> Path:
    """``HOME/uploads``, created if needed; refused if it resolves outside ``HOME``
    (a symbolic link planted there must not redirect writes)."""
    home_path = Path(home).resolve()
    target = home_path / UPLOAD_DIR
    target.mkdir(parents=True, exist_ok=True)
    resolved = target.resolve()
    if resolved.parent != home_path or not resolved.is_dir():
        raise UnsafePathError(str(target), "the uploads folder points outside the knowledge-base home")
    meta = resolved / META_DIR
    meta.mkdir(exist_ok=True)
    if meta.is_symlink() or meta.resolve().parent != resolved:
        raise UnsafePathError(str(meta), "the uploads metadata folder points outside the uploads folder")
    return resolved


def store_upload(home: str | Path, original_name: str, data: bytes, *,
                 max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
                 allowed_suffixes: Collection[str] = UPLOAD_SUFFIXES) -> Path:
    """Save an uploaded file under ``HOME/uploads/`` with a generated name; returns its path.

    Raises :class:`UnsupportedFormatError` for a suffix the readers do not accept,
    :class:`FileTooLargeError` above ``max_bytes``, :class:`EmptyDocumentError` for
    no bytes at all and :class:`UnsafePathError` if the destination would leave
    ``HOME/uploads``. The errors name the upload by its cleaned name.
    """
    shown = display_name(original_name) or "<未命名>"
    suffix = upload_suffix(shown)
    if suffix not in allowed_suffixes:
        what = f"unsupported file type '{suffix}'" if suffix else "no file extension"
        raise UnsupportedFormatError(shown, f"{what}; supported: {', '.join(sorted(allowed_suffixes))}")
    if len(data) > max_bytes:
        raise FileTooLargeError(shown, f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit")
    if not data:
        raise EmptyDocumentError(shown, "empty file")
    folder = uploads_dir(home)
    stem = uuid.uuid4().hex
    final = folder / f"{stem}{suffix}"
    if final.resolve().parent != folder:
        raise UnsafePathError(shown, "the generated name would leave the uploads folder")
    atomic_write(final, data)
    meta = {"original_name": shown, "stored_name": final.name, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "stored_at": time.time()}
    atomic_write(folder / META_DIR / f"{stem}.json",
                 json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))
    return final


def upload_metadata(path: str | Path) -> dict:
    """The sidecar of a stored upload (``original_name``, ``bytes``, ``sha256``, ``stored_at``);
    empty when there is none."""
    path = Path(path)
    meta = path.parent / META_DIR / f"{path.name.split('.')[0]}.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def discard_upload(home: str | Path, path: str | Path) -> bool:
    """Remove a stored upload and its sidecar (an upload that yielded no document).

    Only files directly inside ``HOME/uploads`` are touched; returns whether it existed.
    """
    folder = uploads_dir(home)
    path = Path(path)
    if path.resolve().parent != folder:
        raise UnsafePathError(str(path), "not a file in the uploads folder")
    existed = path.exists()
    path.unlink(missing_ok=True)
    (folder / META_DIR / f"{path.name.split('.')[0]}.json").unlink(missing_ok=True)
    return existed
