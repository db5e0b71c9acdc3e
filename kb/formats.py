"""The file formats ipkb reads: one list shared by the readers (ingest/) and the upload store (kb/)."""

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".json", ".jsonl", ".pdf", ".docx", ".html", ".htm"}
)
