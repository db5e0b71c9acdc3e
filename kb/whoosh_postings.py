"""Reading a Whoosh index in bulk: stored columns, field lengths, posting lists and
word positions, decoded into numpy arrays and lists.

Whoosh's matchers walk one posting at a time through several layers of Python objects;
ipkb scores whole posting lists at once (``kb.scoring``) and checks phrases only in the
documents that contain every word, so it reads the on-disk blocks of the ``whoosh3``
codec directly. Anything else (another codec, inlined postings) falls back to Whoosh's
public matcher API. Only ``kb.whoosh_backend`` imports this module.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import byte_to_length


def column_values(reader, name: str) -> list[str]:
    """A column's values for every docnum (deleted ones included), "" where unset.

    Read segment by segment: Whoosh's multi-segment column reader skips segments
    that lack the column, which would shift every later docnum.
    """
    if not reader.doc_count_all():
        return []
    values: list[str] = []
    for leaf, offset in reader.leaf_readers():
        values.extend([""] * (offset - len(values)))
        values.extend(leaf.column_reader(name))
    return values


_BYTE_TO_LENGTH = np.array([byte_to_length(i) or 0 for i in range(256)], dtype=np.float32)


def field_lengths(reader, field_name: str, size: int) -> np.ndarray:
    """Every document's length in a field (Whoosh keeps them as one byte each)."""
    out = np.zeros(size, dtype=np.float32)
    for leaf, offset in reader.leaf_readers():
        n = leaf.doc_count_all()
        try:  # the length column, read whole (Whoosh has no public bulk reader for it)
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
            column = leaf._perdoc._cached_reader(_lenfield(field_name), LENGTHS_COLUMN)
            if column is not None:
                out[offset:offset + n] = _BYTE_TO_LENGTH[np.fromiter(column, dtype=np.uint8, count=n)]
            continue
        except (AttributeError, ImportError, TypeError, ValueError):
            pass
        out[offset:offset + n] = [leaf.doc_field_length(d, field_name, 0) or 0 for d in range(n)]
    return out


_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def read_postings(reader, field_name: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    """A term's posting list in every segment as (docnums, weights), deleted documents included.

    Whoosh's on-disk blocks are decoded a block at a time (delta-coded ids, weight
    arrays); other matchers (inlined single postings) go one posting at a time.
    """
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for leaf, offset in reader.leaf_readers():
        if (field_name, term) not in leaf:
            continue
        m = leaf.postings(field_name, term)
        while isinstance(m, FilterMatcher):  # deletions: the live mask handles them
            m = m.child
        if isinstance(m, W3LeafMatcher) and not getattr(m, "_byteids", True):
            while m.is_active():
                if m._data is None:
                    m._read_data()
                deltas, w = m._data[0], m._data[1]
                ids.append(np.cumsum(np.asarray(deltas, dtype=np.int64)) + offset)
                if w is None or isinstance(w, float):
                    weights.append(np.full(len(deltas), 1.0 if w is None else w, dtype=np.float32))
                else:
                    weights.append(np.asarray(w, dtype=np.float32))
                m._next_block()
        else:
            seg_ids, seg_weights = [], []
            while m.is_active():
                seg_ids.append(m.id() + offset)
                seg_weights.append(m.weight())
                m.next()
            ids.append(np.array(seg_ids, dtype=np.int64))
            weights.append(np.array(seg_weights, dtype=np.float32))
    if not ids:
        return _EMPTY
    return np.concatenate(ids), np.concatenate(weights)


def phrase_docs(reader, field_name: str, words: Sequence[str], candidates: np.ndarray) -> np.ndarray:
    """The candidate docnums (sorted, each holding every word in the field) where the
    words stand side by side in this order, as Whoosh's ``Phrase`` query with slop 1
    finds them, but reading positions only for the candidates."""
    if not len(words) or not len(candidates):
        return np.zeros(0, dtype=np.int64)
    positions = [term_positions(reader, field_name, w, candidates) for w in words]
    found = []
    for doc in candidates.tolist():
        starts = positions[0].get(doc)
        for i, later in enumerate(positions[1:], start=1):
            if not starts:
                break
            starts = set(starts).intersection(p - i for p in later.get(doc, ()))
        if starts:
            found.append(doc)
    return np.array(found, dtype=np.int64)


def term_positions(reader, field_name: str, term: str, docnums: np.ndarray) -> dict[int, list[int]]:
    """Word positions of a term in the given docnums (sorted), deleted documents included.

    On whoosh3 blocks, a block whose id range holds no wanted docnum is skipped
    without decoding it.
    """
    out: dict[int, list[int]] = {}
    for leaf, offset in reader.leaf_readers():
        n = leaf.doc_count_all()
        lo, hi = np.searchsorted(docnums, [offset, offset + n])
        local = docnums[lo:hi] - offset
        if not len(local) or (field_name, term) not in leaf:
            continue
        m = leaf.postings(field_name, term)
        while isinstance(m, FilterMatcher):
            m = m.child
        variable_values = getattr(m, "_fixedsize", 0) is None or getattr(m, "_fixedsize", 0) < 0
        if isinstance(m, W3LeafMatcher) and not getattr(m, "_byteids", True) and variable_values:
            _block_positions(m, leaf.schema[field_name].format, local, offset, out)
            continue
        wanted = set(local.tolist())
        while m.is_active():
            if m.id() in wanted:
                out[m.id() + offset] = list(m.value_as("positions"))
            m.next()
    return out


def _block_positions(m, fmt, local: np.ndarray, offset: int, out: dict[int, list[int]]) -> None:
    j = 0
    while m.is_active() and j < len(local):
        k = int(np.searchsorted(local, m._maxid, side="right"))
        if k > j:
            if m._data is None:
                m._read_data()
            ids = np.cumsum(np.asarray(m._data[0], dtype=np.int64))
            values = m._data[2]
            for i in np.flatnonzero(np.isin(ids, local[j:k])).tolist():
                out[int(ids[i]) + offset] = fmt.decode_positions(values[i])
            j = k
        m._next_block()
