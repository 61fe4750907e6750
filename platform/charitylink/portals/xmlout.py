"""Atom 1.0 and sitemap documents, written with ElementTree: every piece of
text a person typed goes in as element text or an attribute value and is
escaped by the writer, never pasted into markup.

Elements are written unqualified under an ``xmlns`` on the root (the document's
default namespace), so the output reads ``<feed xmlns=...><entry>`` rather than
carrying a prefix on every element, without ElementTree's process-wide
namespace registry."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Ids are tag: URIs (RFC 4151) on the site's host name with this date: an
# entry's id never changes once a reader has seen it, whatever its title does.
TAG_DATE = "2026"
# A feed without entries still needs an <updated>; a fixed one keeps its ETag
# stable while it stays empty.
EMPTY_FEED_UPDATED = datetime(2026, 1, 1, tzinfo=UTC)

# Characters XML 1.0 cannot carry at all (most C0 controls): dropped, or the
# document would not parse.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; they are UTC (core/timeutil.utcnow).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    # To the microsecond: two changes within one second still move <updated>.
    return utc(value).isoformat(timespec="microseconds").replace("+00:00", "Z")


def tag_uri(base_url: str, specific: str) -> str:
    host = urlsplit(base_url).hostname or "localhost"
    return f"tag:{host},{TAG_DATE}:{specific}"


@dataclass
class Entry:
    id: str
    title: str
    url: str
    updated: datetime
    published: datetime | None = None
    summary: str = ""
    content: str = ""
    author: str = ""
    categories: list[tuple[str, str]] = field(default_factory=list)  # term, label


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    el.text = clean(text)
    return el


def atom_feed(
    *,
    feed_id: str,
    title: str,
    subtitle: str,
    self_url: str,
    alternate_url: str,
    author: str,
    language: str,
    entries: list[Entry],
) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM, XML_LANG: language})
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    _text(feed, "subtitle", subtitle)
    updated = max((e.updated for e in entries), default=EMPTY_FEED_UPDATED, key=utc)
    _text(feed, "updated", rfc3339(updated))
    ET.SubElement(
        feed,
        "link",
        {"rel": "self", "type": "application/atom+xml", "href": clean(self_url)},
    )
    ET.SubElement(
        feed,
        "link",
        {"rel": "alternate", "type": "text/html", "href": clean(alternate_url)},
    )
    who = ET.SubElement(feed, "author")
    _text(who, "name", author)
    _text(feed, "generator", "CharityLink")
    for e in entries:
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", e.id)
        _text(entry, "title", e.title, type="text")
        ET.SubElement(
            entry,
            "link",
            {"rel": "alternate", "type": "text/html", "href": clean(e.url)},
        )
        _text(entry, "updated", rfc3339(e.updated))
        if e.published is not None:
            _text(entry, "published", rfc3339(e.published))
        if e.author:
            who = ET.SubElement(entry, "author")
            _text(who, "name", e.author)
        for term, label in e.categories:
            ET.SubElement(
                entry,
                "category",
                {"term": clean(term), "label": clean(label)},
            )
        if e.summary:
            _text(entry, "summary", e.summary, type="text")
        if e.content:
            _text(entry, "content", e.content, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def urlset(urls: list[tuple[str, datetime | None]]) -> bytes:
    root = ET.Element("urlset", {"xmlns": SITEMAP})
    for loc, lastmod in urls:
        url = ET.SubElement(root, "url")
        ET.SubElement(url, "loc").text = clean(loc)
        if lastmod is not None:
            ET.SubElement(url, "lastmod").text = rfc3339(lastmod)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def sitemap_index(locations: list[str]) -> bytes:
    """A ``sitemapindex`` naming each file (the protocol's limit is 50,000)."""
    root = ET.Element("sitemapindex", {"xmlns": SITEMAP})
    for loc in locations:
        ET.SubElement(ET.SubElement(root, "sitemap"), "loc").text = clean(loc)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
