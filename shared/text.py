"""Text normalization shared by ingest (exact repeats) and the analysis engine."""

import hashlib
import re
import unicodedata

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def clean_body(body: str) -> str:
    """Plain text with paragraphs separated by one blank line, lines trimmed, NFC."""
    body = unicodedata.normalize("NFC", body.replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs = re.split(r"\n\s*\n", body)
    cleaned = (" ".join(p.split()) for p in paragraphs)
    return "\n\n".join(p for p in cleaned if p)


def comparable(text: str) -> str:
    """The form two texts are compared in: NFKC, plain quotes and dashes, one space, lowercase."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return " ".join(text.split()).lower()


def content_hash(body: str) -> str:
    return hashlib.sha256(comparable(body).encode()).hexdigest()
