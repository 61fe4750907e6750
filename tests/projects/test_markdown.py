"""Project bodies are Markdown, sanitised on render (no script, no javascript:
links, no on* attributes)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from charitylink.projects.markdown import render, sanitize

ATTACKS = [
    "<script>alert(1)</script>",
    "[点我](javascript:alert(1))",
    "[点我](JaVaScRiPt:alert(1))",
    '<img src="x" onerror="alert(1)">',
    '<a href="https://a.cn" onclick="alert(1)">x</a>',
    '<a href="javascript:alert(1)">x</a>',
    "![x](javascript:alert(1))",
    '<iframe src="https://evil.example"></iframe>',
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    '<svg onload="alert(1)"></svg>',
    '<p style="x" onmouseover="alert(1)">悬停</p>',
]


class _Elements(HTMLParser):
    """The real elements and attributes of rendered HTML (escaped text such as
    ``&lt;script&gt;`` is shown as text and harmless)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)
        self.attrs.extend((k, (v or "").strip().lower()) for k, v in attrs)


def _assert_safe(html: str) -> None:
    found = _Elements()
    found.feed(html)
    assert not {"script", "iframe", "svg", "style"} & set(found.tags), found.tags
    for name, value in found.attrs:
        assert not name.startswith("on") and name != "style", (name, value)
        assert not value.startswith(("javascript:", "data:")), (name, value)


@pytest.mark.parametrize("text", ATTACKS)
def test_markdown_with_dangerous_markup_renders_safe(text):
    _assert_safe(str(render(text)))


@pytest.mark.parametrize("html", ATTACKS)
def test_sanitiser_alone_strips_dangerous_html(html):
    """The second layer holds even if Markdown let raw HTML through."""
    _assert_safe(sanitize(html))


def test_markdown_is_rendered():
    html = str(render("## 标题\n\n**加粗** [链接](https://example.org)\n\n- 一\n- 二"))
    assert "<h2>标题</h2>" in html and "<strong>加粗</strong>" in html
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">' in html
    assert "<li>一</li>" in html


def test_empty_body():
    assert str(render(None)) == "" and str(render("")) == ""


def test_public_page_renders_sanitised_body(create_project, client):
    project = create_project(
        body='正文 <script>alert("x")</script> [坏链接](javascript:alert(1))'
    )
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "正文" in page
    assert '<script>alert("x")' not in page and 'href="javascript' not in page
