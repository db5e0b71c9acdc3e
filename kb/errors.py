"""One hierarchy for every error ipkb raises.

The library raises these and never prints or exits; the CLI and the app turn them
into messages. Errors about an input file carry the file's path so that a batch
can report "file: reason" and go on with the next file.
"""
from __future__ import annotations


class KBError(Exception):
    """Base class of every error the library raises on purpose."""


class InputError(KBError):
    """An input file could not be read or parsed.

    ``path`` names the file (as the user gave it) and ``reason`` says why, in
    words a clerk can act on ("no text layer", "encrypted PDF", ...).
    """

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsupportedFormatError(InputError):
    """The file type is not one ipkb reads."""


class FileTooLargeError(InputError):
    """The file exceeds the configured size limit."""


class EmptyDocumentError(InputError):
    """The file holds no usable text."""


class NoTextLayerError(InputError):
    """A PDF without a text layer (a scan): it needs OCR, which ipkb does not do."""


class EncryptedFileError(InputError):
    """An encrypted PDF or document that cannot be opened without a password."""


class CorruptFileError(InputError):
    """A damaged, truncated or mislabelled file."""


class UnsafePathError(InputError):
    """A file name that would escape the knowledge-base home or holds control characters."""


class StoreError(KBError):
    """The knowledge base on disk is missing, damaged or inconsistent."""


class KBNotFoundError(StoreError):
    """No knowledge base exists at the given home."""


class SchemaVersionError(StoreError):
    """The knowledge base was written by an incompatible version of ipkb."""


class ModelMismatchError(StoreError):
    """The vector index was built with a different embedding model than the one configured."""


class LockedError(KBError):
    """Another process is writing to the knowledge base (an ingest is running)."""


class DocumentNotFoundError(KBError):
    """No document (or article) with that id or address."""


class QueryError(KBError):
    """A request that cannot be answered (bad filter value, k out of range).

    Malformed query *syntax* never raises: it falls back to plain terms.
    """


class EmbeddingError(KBError):
    """The embedding model could not be built, loaded or run."""


class EvaluationError(KBError):
    """An evaluation set is malformed (missing file, bad line, unknown id)."""
