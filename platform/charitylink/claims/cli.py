"""``flask --app wsgi expire``: run daily from cron (see docs/claims.md)."""

from __future__ import annotations

import click


@click.command("expire")
@click.option(
    "--today",
    "on",
    default=None,
    help="按指定日期（YYYY-MM-DD）执行，默认今天（北京时间）。",
)
def expire(on: str | None) -> None:
    """Expire reserved claims past their due date and needs past their deadline."""
    from charitylink.claims.services import expire_overdue
    from charitylink.core.timeutil import InvalidDate, parse_day
    from charitylink.extensions import db

    day = None
    if on:
        try:
            day = parse_day(on, "--today")
        except InvalidDate as exc:
            raise click.BadParameter(str(exc), param_hint="--today") from exc
    # Commit after each claim and need: short transactions, nothing held for long.
    counts = expire_overdue(day, on_each=db.session.commit)
    db.session.commit()
    click.echo(f"已过期认领 {counts['claims']} 条；已过期需求 {counts['needs']} 条。")


@click.group("claims")
def claims() -> None:
    """Claims and pairings (结对关爱)."""


@claims.command("instalments-check")
@click.option(
    "--today",
    "on",
    default=None,
    help="按指定日期（YYYY-MM-DD）执行，默认今天（北京时间）。",
)
def instalments_check(on: str | None) -> None:
    """Mark pairing months not delivered 10 days past their date as missed and
    remind orgs of months falling due; safe to run again (daily from cron)."""
    from charitylink.claims.pairing import check_instalments
    from charitylink.core.timeutil import InvalidDate, parse_day
    from charitylink.extensions import db

    day = None
    if on:
        try:
            day = parse_day(on, "--today")
        except InvalidDate as exc:
            raise click.BadParameter(str(exc), param_hint="--today") from exc
    counts = check_instalments(day, on_each=db.session.commit)
    db.session.commit()
    click.echo(
        f"逾期未交付 {counts['missed']} 期；提醒待交付 {counts['reminded']} 期。"
    )
