"""Operators' CLI: ``flask --app wsgi <command>`` (docs/product.md)."""

from __future__ import annotations

import click
from flask import Flask

from charitylink.core.permissions import Role
from charitylink.extensions import db


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema to the newest migration and load the regions."""
    from flask_migrate import upgrade

    from charitylink.regions.services import load_regions

    upgrade()
    added = load_regions()
    db.session.commit()
    click.echo(f"数据库已是最新版本；新增行政区划 {added} 条。")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option(
    "--role", type=click.Choice([Role.MODERATOR.value, Role.ADMIN.value]), required=True
)
@click.option(
    "--region", default=None, help="审核员负责的行政区划代码前缀，例如 22 或 2201。"
)
@click.option("--name", default="")
def create_user(
    email: str, password: str, role: str, region: str | None, name: str
) -> None:
    """Create a moderator or an admin."""
    from charitylink.accounts import services
    from charitylink.errors import DomainError

    try:
        user = services.create_user(
            email, password, role, name=name, region_prefix=region
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"已创建用户 {user.email}（{user.role_label}）。")


@click.command("scan-public-text")
def scan_public_text() -> None:
    """Re-scan what organizations published (descriptions, funds, donors'
    names, projects, progress updates) for personal data; exit 1 if any."""
    import re

    from charitylink.orgs.public_text import rescan

    labels = {
        "org": "机构",
        "fund": "基金",
        "donation": "捐赠记录",
        "project": "项目",
        "project_update": "项目进展",
    }
    count = 0
    for what, object_id, messages in rescan():
        for field, message in messages.items():
            # The quoted text is the personal data itself: say what, not what it is.
            masked = re.sub(r"「[^」]*」", "「…」", message)
            click.echo(f"{labels[what]} #{object_id} {field}：{masked}")
            count += 1
    db.session.rollback()  # read only
    if count:
        click.echo(f"共 {count} 处公开内容包含个人信息，请通知机构修改。", err=True)
        raise SystemExit(1)
    click.echo("未发现包含个人信息的公开内容。")


@click.command("prune-idempotency")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=30,
    show_default=True,
    help="删除早于这么多天的记录",
)
def prune_idempotency(days: int) -> None:
    """Delete the API's stored Idempotency-Key answers older than ``days``
    (for cron: a client retries within minutes, never after a month)."""
    from charitylink.core.idempotency import prune

    removed = prune(days)
    db.session.commit()
    click.echo(f"已删除 {removed} 条 {days} 天前的幂等记录。")


def register(app: Flask) -> None:
    from charitylink.claims.cli import claims, expire
    from charitylink.integrity.cli import integrity
    from charitylink.mail.cli import mail
    from charitylink.needs.cli import import_needs
    from charitylink.notifications.remind_cli import remind
    from charitylink.privacy.cli import privacy
    from charitylink.reports.cli import reports
    from charitylink.search.cli import search
    from charitylink.seeding.cli import seed
    from charitylink.webhooks.cli import webhooks

    for command in (
        init_db,
        seed,
        create_user,
        expire,
        import_needs,
        search,
        scan_public_text,
        prune_idempotency,
        mail,
        remind,
        integrity,
        webhooks,
        privacy,
        claims,
        reports,
    ):
        app.cli.add_command(command)
