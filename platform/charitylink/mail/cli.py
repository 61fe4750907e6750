"""``flask --app wsgi mail send`` (one pass, for cron) and ``mail worker``
(a loop, for a service manager). docs/mail.md."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask.cli import AppGroup

from charitylink.extensions import db

mail = AppGroup("mail", help="发送邮件队列中的邮件。")


def _summary(sent: int, retrying: int, failed: int) -> str:
    return f"已发送 {sent} 封；{retrying} 封发送失败、稍后重试；{failed} 封已放弃。"


@mail.command("send")
def send() -> None:
    """Send every mail that is due once, then stop (cron: every few minutes)."""
    from charitylink.mail.sender import send_all_due

    result = send_all_due()
    db.session.remove()
    click.echo(_summary(result.sent, result.retrying, result.failed))


@mail.command("worker")
@click.option(
    "--interval",
    type=click.FloatRange(0.1, 3600),
    default=30,
    show_default=True,
    help="两轮之间等待的秒数",
)
def worker(interval: float) -> None:
    """Send due mail in a loop until SIGTERM or Ctrl-C; a batch in progress
    is finished first, so no claimed mail is left half-recorded."""
    from sqlalchemy.exc import SQLAlchemyError

    from charitylink.mail.sender import send_all_due

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    click.echo(f"邮件发送进程已启动，每 {interval:g} 秒检查一次队列。")
    try:
        while not stop.is_set():
            try:
                result = send_all_due()
            except SQLAlchemyError as exc:
                # The database is away (restart, failover): try again next round.
                db.session.rollback()
                click.echo(
                    f"读取邮件队列失败，稍后重试：{type(exc).__name__}", err=True
                )
            else:
                if result.total:
                    click.echo(_summary(result.sent, result.retrying, result.failed))
            db.session.remove()
            stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("邮件发送进程已停止。")
