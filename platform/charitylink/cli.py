"""Operators' CLI: ``flask --app wsgi <command>`` (docs/product.md)."""

from __future__ import annotations

import click
from flask import Flask

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


@click.command("seed")
@click.option(
    "--needs",
    "extra_needs",
    type=click.IntRange(0, 1_000_000),
    default=0,
    help="另外生成 N 条虚构需求（用于性能测试）。",
)
@click.option(
    "--if-empty", is_flag=True, help="数据库已有数据时什么也不做（make run 使用）。"
)
@click.option("--orgs", "bench_orgs", type=click.IntRange(0, 100_000), default=0)
@click.option("--funds", "bench_funds", type=click.IntRange(0, 500_000), default=0)
@click.option(
    "--projects", "bench_projects", type=click.IntRange(0, 1_000_000), default=0
)
def seed(
    extra_needs: int,
    if_empty: bool,
    bench_orgs: int = 0,
    bench_funds: int = 0,
    bench_projects: int = 0,
) -> None:
    """Load the demo data in seeds/ into an empty database.

    ``--orgs/--funds/--projects/--needs N`` add generated fictional data for the
    load benchmark (bench/load.py, charitylink/bench_seed.py)."""
    from charitylink import bench_seed, seeding

    def extras() -> None:
        for n, generate in (
            (bench_orgs, bench_seed.generate_orgs),
            (bench_funds, bench_seed.generate_funds),
            (bench_projects, bench_seed.generate_projects),
        ):
            if n:
                generate(n)

    if seeding.has_data():
        if if_empty:
            click.echo("数据库已有数据，跳过演示数据。")
            extras()
            if extra_needs:
                seeding.generate_needs(extra_needs)
            return
        raise click.ClickException("数据库不是空的：演示数据只能载入空数据库。")
    seeding.load_demo()
    extras()
    if extra_needs:
        seeding.generate_needs(extra_needs)  # rebuilds the search index itself
    else:
        from charitylink.search import indexer

        indexer.rebuild()
    click.echo("演示数据已载入。")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["moderator", "admin"]), required=True)
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


def register(app: Flask) -> None:
    from charitylink.claims.cli import expire
    from charitylink.needs.cli import import_needs
    from charitylink.search.cli import search

    for command in (
        init_db,
        seed,
        create_user,
        expire,
        import_needs,
        search,
        scan_public_text,
    ):
        app.cli.add_command(command)
