"""``flask --app wsgi webhooks send`` (one pass, for cron) and ``webhooks
worker`` (a loop, for a service manager). docs/webhooks.md."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask.cli import AppGroup

from charitylink.extensions import db

webhooks = AppGroup("webhooks", help="推送 Webhook 队列中的事件。")


def _summary(sent: int, retrying: int, abandoned: int) -> str:
    return f"已推送 {sent} 条；{retrying} 条失败、稍后重试；{abandoned} 条已放弃。"


@webhooks.command("send")
def send() -> None:
    """Send every due delivery once, then stop (cron: every minute)."""
    from charitylink.webhooks.sender import send_due

    result = send_due()
    db.session.remove()
    click.echo(_summary(result.sent, result.retrying, result.abandoned))


@webhooks.command("worker")
@click.option(
    "--interval",
    type=click.FloatRange(0.1, 3600),
    default=5,
    show_default=True,
    help="两轮之间等待的秒数",
)
def worker(interval: float) -> None:
    """Send due deliveries in a loop until SIGTERM or Ctrl-C; the POST in
    progress is finished and recorded first."""
    from sqlalchemy.exc import SQLAlchemyError

    from charitylink.webhooks.sender import send_due

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    click.echo(f"Webhook 推送进程已启动，每 {interval:g} 秒检查一次队列。")
    try:
        while not stop.is_set():
            try:
                result = send_due()
            except SQLAlchemyError as exc:
                db.session.rollback()
                click.echo(
                    f"读取 Webhook 队列失败，稍后重试：{type(exc).__name__}", err=True
                )
            else:
                if result.total:
                    click.echo(_summary(result.sent, result.retrying, result.abandoned))
            db.session.remove()
            stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("Webhook 推送进程已停止。")
