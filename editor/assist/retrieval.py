"""Keyword retrieval (BM25) over a room's files: which files a question is about."""

from __future__ import annotations

import math
import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_STOP = frozenset(
    {
        "the", "a", "an", "and", "or", "of", "to", "in", "is", "it", "this", "that", "what",
        "how", "why", "where", "does", "do", "for", "on", "with", "be", "are", "was", "can",
        "i", "you", "we", "from", "by", "as", "at", "not",
    }
)  # fmt: skip
K1, B = 1.2, 0.75


def terms(text: str) -> list[str]:
    """Identifiers and their parts: `parseHeader_v2` → parseheader_v2, parse, header, v2."""
    found: list[str] = []
    for word in _WORD.findall(text):
        lowered = word.lower()
        if lowered in _STOP or len(lowered) < 2:
            continue
        found.append(lowered)
        parts = [p.lower() for chunk in word.split("_") for p in _CAMEL.findall(chunk)]
        if len(parts) > 1:
            found.extend(p for p in parts if len(p) > 1 and p not in _STOP)
    return found


def rank(query: str, documents: dict[str, str], *, limit: int = 4) -> list[tuple[str, float]]:
    """The `limit` best documents for the query, best first; paths count as text too."""
    wanted = set(terms(query))
    if not wanted or not documents:
        return []
    counts: dict[str, Counter[str]] = {}
    lengths: dict[str, int] = {}
    frequency: Counter[str] = Counter()
    for path, text in documents.items():
        doc_terms = terms(path) + terms(text)
        lengths[path] = len(doc_terms)
        counted = Counter(t for t in doc_terms if t in wanted)
        counts[path] = counted
        frequency.update(counted.keys())
    total = len(documents)
    average = sum(lengths.values()) / total or 1.0
    scores = []
    for path, counted in counts.items():
        score = 0.0
        for term, tf in counted.items():
            idf = math.log(1 + (total - frequency[term] + 0.5) / (frequency[term] + 0.5))
            score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[path] / average))
        if score > 0:
            scores.append((path, score))
    scores.sort(key=lambda item: (-item[1], item[0]))
    return scores[:limit]


def excerpt(text: str, query: str, *, max_chars: int) -> str:
    """The whole text if it fits, else a window around the first mention of a query term."""
    if len(text) <= max_chars:
        return text
    lowered = text.lower()
    hits = [lowered.find(term) for term in terms(query)]
    first = min((hit for hit in hits if hit >= 0), default=0)
    start = max(0, min(first - max_chars // 3, len(text) - max_chars))
    start = text.rfind("\n", 0, start) + 1 if start else 0
    return text[start : start + max_chars]
