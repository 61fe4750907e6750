"""``flask --app wsgi search rebuild|status|worker|drain``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

search = AppGroup("search", help="搜索索引：重建、状态、索引进程。")


@search.command("rebuild")
@click.option(
    "--if-missing",
    is_flag=True,
    help="只在索引不存在或不可读时重建（make run 使用）。",
)
def rebuild(if_missing: bool) -> None:
    """Rebuild the search index from the database, then switch to it atomically."""
    from charitylink.search import indexer
    from charitylink.search.backend import backend_name

    if if_missing:
        info = indexer.status()
        if info.get("exists") and not info.get("error"):
            click.echo("搜索索引已存在，跳过重建。")
            return
    total = indexer.public_count()
    with click.progressbar(length=total, label="重建搜索索引", show_pos=True) as bar:
        count = indexer.rebuild(progress=bar.update)
    click.echo(f"搜索索引已重建（{backend_name()}）：{count} 个文档。")


@search.command("pack")
def pack() -> None:
    """PostgreSQL: fold the postings changed since the last pack into the
    packed arrays and free their space (run at a quiet hour: changes wait)."""
    from charitylink.search import indexer

    words = indexer.pack()
    click.echo(f"搜索词条已压缩：{words} 个词。")


@search.command("status")
def status() -> None:
    """Documents, outbox backlog and index age."""
    from charitylink.search import indexer

    info = indexer.status()
    click.echo(f"引擎：{info.get('backend')}")
    click.echo(f"索引存在：{'是' if info.get('exists') else '否'}")
    if info.get("path"):
        click.echo(f"索引目录：{info['path']}")
    click.echo(f"索引文档数：{info.get('documents', 0)}")
    click.echo(f"数据库中公开的需求、项目和供给：{info.get('public_objects', 0)}")
    click.echo(f"待索引变更（outbox）：{info.get('outbox', 0)}")
    if info.get("outbox_oldest"):
        click.echo(f"最早的待索引变更：{info['outbox_oldest']}")
    if info.get("built_at"):
        click.echo(f"上次重建：{info['built_at']}")
    if info.get("changed_at"):
        click.echo(f"上次更新：{info['changed_at']}")
    if info.get("error"):
        click.echo(f"错误：{info['error']}")


@search.command("worker")
@click.option("--poll", default=1.0, show_default=True, help="空闲时的轮询间隔（秒）。")
@click.option("--batch", default=500, show_default=True, help="每批处理的变更数。")
@click.option("--once", is_flag=True, help="处理完现有变更后退出。")
def worker(poll: float, batch: int, once: bool) -> None:
    """The one indexer process: apply outbox changes to the index."""
    from charitylink.search import indexer
    from charitylink.search.backend import backend_name

    if backend_name() == "pg":
        click.echo(
            "PostgreSQL 全文检索在每个事务内同步更新；索引进程只处理遗留的变更。"
        )
    indexer.run_worker(poll=poll, batch=batch, once=once)
