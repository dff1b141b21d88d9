"""Chinese word segmentation for the catalogue search (jieba, loaded once per process)."""

from __future__ import annotations

import logging
import re
import threading

import jieba

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None

# Words that appear in nearly every item and say nothing about which one is meant.
STOP_WORDS = frozenset(
    {"办理", "申请", "怎么", "如何", "我要", "在哪", "哪里", "需要", "什么", "的", "了", "办"}
)
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
MAX_TERMS = 8


def _get_tokenizer() -> jieba.Tokenizer:
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def search_terms(query: str) -> list[str]:
    """The query's search-mode segments, longest first, without stop words or punctuation.

    ``"身份证"`` gives ``["身份证", "身份"]``; a term that merely repeats a single character of a
    longer one is dropped, so ``"办证"`` does not turn into a search for ``"证"``.
    """
    query = " ".join((query or "").split())[:100]
    if not query:
        return []
    terms: list[str] = []
    for token in _get_tokenizer().cut_for_search(query):
        token = token.strip().lower()
        if not token or token in STOP_WORDS or not _WORD.search(token) or token in terms:
            continue
        terms.append(token)
    longer = [t for t in terms if len(t) > 1]
    if longer:
        terms = longer
    terms.sort(key=len, reverse=True)
    return terms[:MAX_TERMS]
