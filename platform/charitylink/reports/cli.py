"""``flask --app wsgi reports rebuild|verify``: the summary tables behind every
report figure (reports/summary.py, docs/reports.md)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

reports = AppGroup("reports", help="统计汇总表：重算、核对。")


@reports.command("rebuild")
def rebuild() -> None:
    """Recompute the summary tables from the needs and claims (after a bulk
    load or a change made around the app)."""
    from charitylink.reports import summary

    count = summary.rebuild(progress=True)
    click.echo(f"统计汇总表已重算：{count} 条需求。")


@reports.command("verify")
@click.option("--limit", default=100, show_default=True, help="最多列出的差异条数。")
def verify(limit: int) -> None:
    """Compare the summary tables with the needs and claims; exit 1 on any
    difference (each is a bug, or a change made around the app)."""
    from charitylink.extensions import db
    from charitylink.reports import summary

    problems = summary.verify_on(db.session.connection(), progress=True, limit=limit)
    db.session.rollback()
    for line in problems:
        click.echo(line)
    if problems:
        click.echo(f"统计汇总表与基础数据不一致：{len(problems)} 处差异。", err=True)
        sys.exit(1)
    click.echo("统计汇总表与基础数据一致。")
