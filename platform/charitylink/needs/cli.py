"""``flask --app wsgi import-needs FILE --moderator EMAIL`` (docs/integration.md)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("import-needs")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--moderator",
    "email",
    required=True,
    help="以该民政审核员的身份导入（其负责区划之外的行会被拒绝）。",
)
@click.option("--dry-run", is_flag=True, help="只检查并预览，不写入数据库。")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 5000),
    default=250,
    show_default=True,
    help="每批提交的行数；中断后重新运行即可从中断处继续（按外部编号去重）。",
)
@click.option(
    "--show", type=click.IntRange(0), default=20, help="最多列出多少条被拒绝的行。"
)
def import_needs(
    path: str, email: str, dry_run: bool, batch_size: int, show: int
) -> None:
    """Import needs from a CSV or XLSX file (the columns of the import template)."""
    from charitylink.accounts.services import get_by_email
    from charitylink.core.permissions import is_moderator
    from charitylink.errors import DomainError
    from charitylink.extensions import db
    from charitylink.needs import import_files, importing

    user = get_by_email(email)
    if user is None or not is_moderator(user) or not user.active:
        raise click.ClickException(f"{email} 不是有效的民政审核员账号。")
    try:
        parsed = import_files.parse_file(
            Path(path).read_bytes(), path, max_rows=10_000_000
        )
    except import_files.ImportFileError as exc:
        raise click.ClickException(str(exc)) from exc
    if parsed.unknown_columns:
        click.echo("忽略无法识别的列：" + "、".join(parsed.unknown_columns))
    rows = [importing.InputRow(r.row, r.data, r.errors) for r in parsed.rows]
    results: list[importing.RowOutcome] = []
    label = "检查" if dry_run else "导入"
    with click.progressbar(length=len(rows), label=f"{label} {len(rows)} 行") as bar:
        # The engine takes at most MAX_ROWS at once; a file may hold more.
        for start in range(0, len(rows), importing.MAX_ROWS):
            chunk = rows[start : start + importing.MAX_ROWS]
            try:
                result = importing.run_import(
                    user,
                    chunk,
                    dry_run=dry_run,
                    batch_size=batch_size,
                    commit=None if dry_run else db.session.commit,
                    progress=bar.update,
                )
            except DomainError as exc:
                db.session.rollback()
                raise click.ClickException(exc.message) from exc
            results.extend(result.outcomes)
    if dry_run:
        db.session.rollback()
    counts = importing.ImportResult(results).counts
    click.echo(
        f"{'预览' if dry_run else '完成'}：新建 {counts['created']}，更新 {counts['updated']}，"
        f"未变化 {counts['unchanged']}，拒绝 {counts['refused']}（共 {counts['total']} 行）。"
    )
    refused = [o for o in results if o.status == "refused"]
    for outcome in refused[:show]:
        detail = "；".join(f"{k}：{v}" for k, v in outcome.errors.items())
        click.echo(
            f"  第 {outcome.row} 行 {outcome.external_id or ''}：{detail or outcome.message}"
        )
    if len(refused) > show:
        click.echo(f"  ……另有 {len(refused) - show} 行被拒绝。")
