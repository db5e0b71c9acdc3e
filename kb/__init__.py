"""ipkb: a knowledge base and similar-case search engine for IP protection in China.

    from kb import KnowledgeBase
    with KnowledgeBase.open("path/to/home") as kb:
        result = kb.search("合理保密措施", k=5)
"""
from .errors import KBError
from .knowledge import KnowledgeBase
from .models import Citation, Document, Filters, Hit, Passage, Section, SimilarHit

__all__ = ["KnowledgeBase", "KBError", "Citation", "Document", "Filters", "Hit", "Passage", "Section", "SimilarHit"]
__version__ = "0.1.0"
