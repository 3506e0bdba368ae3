"""Pure request and text handling: charsets, JSON, HTML to clean text, CMS field mappings."""

import codecs
import hashlib
import html
import json
import re
from html.parser import HTMLParser

from shared.problems import Problem

_DROPPED = {"script", "style", "noscript", "template", "head", "iframe", "svg", "form", "nav"}
_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
           "section", "article", "header", "footer", "figure", "figcaption", "table", "tr",
           "pre", "hr", "aside", "main", "dd", "dt"}
# Markup as a browser reads it: "<" or "</" right before a tag name that ends at a space, "/"
# or ">", up to the next ">"; the start of a comment; a declaration; a processing instruction.
# Any other "<" is prose: "a < b", "3<4", "<jane@example.org>".
_MARKUP = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9-]*(?::[A-Za-z0-9-]+)?(?:[\s/][^<>]*)?>"
                     r"|!--|![A-Za-z][^<>]*>|\?[^<>]*>)")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Invisible characters: zero-width space, word joiner, invisible operators, byte order marks,
# soft hyphens, the Mongolian vowel separator, and bidi marks, embeddings, overrides and
# isolates (which can make text read other than it is stored).
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
                        "\u2066-\u2069\ufeff]")
# Zero-width (non-)joiners change how the characters on either side join (Persian, Indic
# scripts, emoji sequences); beside a space or an end they join nothing.
_LOOSE_JOINERS = re.compile("(?:^|(?<=\\s))[\u200c\u200d]+|[\u200c\u200d]+(?=\\s|$)")


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """('application/json', charset or None) from a Content-Type header."""
    kind, *params = (content_type or "").split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower() or None
    return kind.strip().lower(), charset


def decode_json(raw: bytes, content_type: str | None) -> object:
    """The JSON document of a request body: 415 unless JSON in a known charset (UTF-8 by
    default), 422 for bytes invalid in that charset or malformed JSON."""
    kind, charset = media_type(content_type)
    if kind != "application/json" and not kind.endswith("+json"):
        raise Problem(415, "unsupported-media-type", "Send JSON",
                      "Content-Type must be application/json")
    charset = charset or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise Problem(415, "unsupported-charset", "Unknown charset", charset) from None
    try:
        text = raw.decode("utf-8-sig" if charset in ("utf-8", "utf8") else charset)
    except UnicodeDecodeError as exc:
        raise Problem(422, "invalid-encoding", "The body is not valid in its charset",
                      f"{charset}: invalid byte at offset {exc.start}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Problem(422, "invalid-json", "The body is not valid JSON",
                      f"line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def request_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def has_control_characters(text: str) -> bool:
    return bool(_CONTROL.search(text))


def looks_like_html(text: str) -> bool:
    return bool(_MARKUP.search(text))


def visible(text: str) -> str:
    """The text without invisible characters (see _INVISIBLE) and joiners that join nothing."""
    return _LOOSE_JOINERS.sub("", _INVISIBLE.sub("", text))


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _DROPPED:
            self.dropping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in _DROPPED:
            self.dropping = max(0, self.dropping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.dropping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment: scripts, styles and the like dropped, entities decoded,
    block elements as paragraph breaks (clean_body then trims and joins them)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def plain_text(text: str) -> str:
    """Text without markup: tags dropped (with what scripts and styles hold), entities decoded,
    a "<" that starts no tag kept as written."""
    if not looks_like_html(text):
        return html.unescape(text) if "&" in text else text
    closes = text.rfind("-->")              # a comment that never closes is prose
    pieces, end = [], 0
    for tag in _MARKUP.finditer(text):      # the parser must not take prose for a tag
        if tag.group() == "<!--" and tag.start() > closes:
            continue
        pieces += [text[end:tag.start()].replace("<", "&lt;"), tag.group()]
        end = tag.end()
    pieces.append(text[end:].replace("<", "&lt;"))
    return html_to_text("".join(pieces))


def clean_text(text: str) -> str:
    """What an article's text fields keep: plain text without invisible characters."""
    return visible(plain_text(text))


def lookup(document: object, path: str) -> object:
    """The value at a dotted path ("post.content.0.html"); None when any step is missing."""
    value = document
    for step in path.split("."):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def map_fields(document: object, mapping: dict[str, str], defaults: dict[str, str]) -> dict:
    """An article's fields picked out of a CMS payload; fields the mapping does not name are
    taken as they are (a payload already shaped like an article needs no mapping)."""
    fields = {}
    for name in ("outlet", "url", "title", "published_at", "body"):
        value = lookup(document, mapping.get(name, name))
        if value is None:
            value = defaults.get(name)
        if value is not None:
            fields[name] = value
    return fields
