"""`search rebuild` / `search status`, rebuilding while searching, and the
database fallback when the index is missing or broken."""

from __future__ import annotations

import logging
import shutil

from sqlalchemy import text

from charitylink.extensions import db
from charitylink.search.backend import get_backend
from charitylink.search.service import search_needs, search_projects


def test_rebuild_command_shows_progress_and_counts(
    need, runner, create_project
) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        need(f"白血病患儿需要帮助{i}")
    need("草稿需求", status="draft")
    create_project(title="困境儿童助学帮扶项目")

    result = runner.invoke(args=["search", "rebuild"])

    assert result.exit_code == 0, result.output
    assert "重建搜索索引" in result.output
    assert "4 个文档" in result.output
    assert search_needs("白血病").total == 3
    assert search_projects("助学").total == 1


def test_status_command_shows_documents_backlog_and_age(need, runner, engine) -> None:  # type: ignore[no-untyped-def]
    need("白血病患儿需要帮助")
    runner.invoke(args=["search", "rebuild"])
    need("助学金申请")

    result = runner.invoke(args=["search", "status"])

    assert result.exit_code == 0, result.output
    assert f"引擎：{engine}" in result.output
    assert "数据库中公开的需求、项目和供给：2" in result.output
    if engine == "whoosh":
        assert "索引文档数：1" in result.output
        assert "待索引变更（outbox）：0" not in result.output
        assert "上次重建：" in result.output
    else:
        assert "索引文档数：2" in result.output
        assert "待索引变更（outbox）：0" in result.output
    assert "上次更新：" in result.output


def test_rebuild_while_searching(need, runner, engine) -> None:  # type: ignore[no-untyped-def]
    first = need("白血病患儿需要帮助")
    runner.invoke(args=["search", "rebuild"])
    assert search_needs("白血病").total == 1
    backend = get_backend()
    if engine == "whoosh":
        old = backend.searcher()  # type: ignore[attr-defined]
        old_dir = backend.current_dir()  # type: ignore[attr-defined]

    second = need("白血病老人需要护理")
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output

    if engine == "whoosh":
        from whoosh.query import Term

        # A searcher opened before the switch keeps answering from its generation.
        assert old.doc_count() == 1
        assert len(old.search(Term("title", "白血病"))) == 1
        assert backend.current_dir() != old_dir  # type: ignore[attr-defined]
    found = search_needs("白血病")
    assert {n.code for n in found.items} == {first.code, second.code}
    assert not found.fallback


def test_missing_index_falls_back_to_the_database_and_logs(
    need, index_now, engine, caplog
) -> None:  # type: ignore[no-untyped-def]
    hit = need("白血病患儿急需化疗费用", need_type="medical")
    need("白血病老人需要护理", need_type="elderly_care")
    index_now()
    if engine == "whoosh":
        backend = get_backend()
        backend.close()  # type: ignore[attr-defined]
        shutil.rmtree(backend.root)  # type: ignore[attr-defined]
    else:
        db.session.execute(text("ALTER TABLE search_documents RENAME TO sd_gone"))
        db.session.execute(text("ALTER TABLE search_postings RENAME TO sp_gone"))
        db.session.commit()

    with caplog.at_level(logging.WARNING, logger="charitylink.search"):
        result = search_needs("白血病", {"need_type": "medical"})

    assert result.fallback
    assert [n.code for n in result.items] == [hit.code]
    assert result.total == 1
    assert {f.value for f in result.facets["need_type"]} == {"medical"}
    assert "falling back" in caplog.text or "database" in caplog.text
    assert search_projects("助学").fallback


def test_corrupt_index_falls_back(need, index_now, engine) -> None:  # type: ignore[no-untyped-def]
    need("白血病患儿急需化疗费用")
    index_now()
    if engine != "whoosh":
        db.session.execute(text("ALTER TABLE search_documents DROP COLUMN tsv"))
        db.session.execute(text("ALTER TABLE search_postings DROP COLUMN fields"))
        db.session.commit()
    else:
        backend = get_backend()
        backend.close()  # type: ignore[attr-defined]
        for path in backend.current_dir().iterdir():  # type: ignore[attr-defined]
            path.write_bytes(b"garbage")

    result = search_needs("白血病")

    assert result.fallback and result.total == 1


def test_pages_answer_when_the_index_is_gone(need, index_now, client, engine) -> None:  # type: ignore[no-untyped-def]
    n = need("白血病患儿急需化疗费用")
    index_now()
    if engine == "whoosh":
        backend = get_backend()
        backend.close()  # type: ignore[attr-defined]
        shutil.rmtree(backend.root)  # type: ignore[attr-defined]
    else:
        db.session.execute(text("ALTER TABLE search_documents RENAME TO sd_gone"))
        db.session.execute(text("ALTER TABLE search_postings RENAME TO sp_gone"))
        db.session.commit()

    page = client.get("/needs?q=白血病")
    api = client.get("/api/v1/needs?q=白血病")

    assert page.status_code == 200 and n.code in page.get_data(as_text=True)
    assert api.status_code == 200 and n.code in api.get_data(as_text=True)
