"""最相关 is offered before the first search, and is the default, so a keyword
typed on the plain list is searched by relevance at once."""

from __future__ import annotations

import re


def _sort_options(html: str) -> list[tuple[str, bool]]:
    select = re.search(r'<select id="sort" name="sort">(.*?)</select>', html, re.S)
    assert select
    return [
        (value, bool(selected))
        for value, selected in re.findall(
            r'<option value="([^"]+)"( selected)?', select.group(1)
        )
    ]


def test_relevance_is_offered_and_default_without_a_keyword(client, create_need):
    create_need()
    options = _sort_options(client.get("/needs").get_data(as_text=True))
    assert options[0] == ("relevance", True)
    assert [v for v, selected in options if selected] == ["relevance"]
    chosen = _sort_options(client.get("/needs?sort=amount_desc").get_data(as_text=True))
    assert [v for v, selected in chosen if selected] == ["amount_desc"]


def test_relevance_stays_chosen_after_a_search(client, create_need):
    create_need(title="独居老人需要护理床")
    html = client.get("/needs?q=护理床").get_data(as_text=True)
    assert [v for v, selected in _sort_options(html) if selected] == ["relevance"]
