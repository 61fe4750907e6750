"""``flask --app wsgi remind``: run hourly (or daily) from cron (docs/deployment.md)."""

from __future__ import annotations

import click


@click.command("remind")
@click.option(
    "--on",
    "on",
    default=None,
    help="按指定日期（YYYY-MM-DD）发送提醒，默认今天（北京时间）。",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="每批读取的记录数（每批提交一次）。",
)
def remind(on: str | None, batch: int) -> None:
    """Send the reminders due today: claims due soon, progress updates due and
    overdue, needs and deliveries left waiting by the moderators. Safe to run
    again: nobody is told twice."""
    from charitylink.core.timeutil import InvalidDate, parse_day
    from charitylink.extensions import db
    from charitylink.notifications.reminders import run_reminders

    day = None
    if on:
        try:
            day = parse_day(on, "--on")
        except InvalidDate as exc:
            raise click.BadParameter(str(exc), param_hint="--on") from exc
    counts = run_reminders(day, batch=batch, on_batch=db.session.commit)
    db.session.commit()
    labels = {
        "claim_due_soon": "认领即将到期",
        "project_update_due": "项目进展即将到期",
        "project_update_overdue": "项目进展已逾期",
        "need_review_overdue": "需求审核超期",
        "followup_overdue": "回访超期",
    }
    parts = [f"{labels[kind]} {n} 条" for kind, n in counts.items()]
    click.echo("已发送提醒：" + "；".join(parts) + "。")
