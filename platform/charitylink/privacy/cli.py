"""``flask --app wsgi privacy purge``: run daily from cron (docs/privacy.md)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import click
from flask.cli import AppGroup

privacy = AppGroup(
    "privacy", help="个人信息：保存期限届满后的清除、恢复备份后的重新清除。"
)

KIND_NAMES = {
    "household": "家庭隐私信息",
    "external_id": "外部编号",
    "evidence": "凭证照片",
    "consent_forms": "同意书",
    "guardian_names": "监护人姓名",
    "household_key": "家庭标识",
}


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            moment = datetime.combine(datetime.fromisoformat(value).date(), time(12))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            "应为 YYYY-MM-DD 或 ISO 时间", param_hint="--now"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _kinds(kinds: list[str]) -> str:
    return "、".join(KIND_NAMES.get(k, k) for k in kinds) or "—"


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="只列出将被清除的需求及内容，不做修改。")
@click.option(
    "--now", "now_text", default=None, help="按指定时间执行（测试用），默认现在。"
)
@click.option(
    "--replay-log",
    "replay",
    is_flag=True,
    help="恢复备份后：先按清除记录文件重新清除，再执行常规清除。",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="清除记录文件（默认 PURGE_LOG_FILE）。",
)
def purge(
    dry_run: bool, now_text: str | None, replay: bool, log_file: Path | None
) -> None:
    """Erase private halves past PRIVATE_RETENTION_DAYS (idempotent)."""
    from charitylink.extensions import db
    from charitylink.privacy import purge as purging

    now = _parse_now(now_text)
    if replay:
        redone = purging.replay_log(log_file, now=now, dry_run=dry_run)
        db.session.commit()
        verb = "将重新清除" if dry_run else "已重新清除"
        click.echo(f"按清除记录{verb} {len(redone)} 条需求。")
        for code in redone:
            click.echo(f"  {code}")
    if dry_run:
        result = purging.purge_due(now, dry_run=True)
        for code, kinds in result.purged:
            click.echo(f"{code}\t{_kinds(kinds)}")
        for code in result.held:
            click.echo(f"{code}\t暂缓：仍有未完结的认领或争议")
        click.echo(
            f"演练：将清除 {len(result.purged)} 条需求的隐私信息；"
            f"暂缓 {len(result.held)} 条；"
            f"将清除 {result.complaint_contacts} 件举报的举报人联系方式。未做任何修改。"
        )
        return
    due, _held = purging.due_needs(now or datetime.now(UTC))
    with click.progressbar(length=len(due), label="清除隐私信息", show_pos=True) as bar:
        result = purging.purge_due(now, on_each=db.session.commit, progress=bar.update)
    db.session.commit()
    purging.scrub_storage()
    # The daily run also removes private export files whose one-time link was
    # used or has expired (the page and the download do it too, when visited).
    from charitylink.privacy import exports

    swept = exports.sweep_expired()
    db.session.commit()
    click.echo(
        f"已清除 {len(result.purged)} 条需求的隐私信息；"
        f"释放家庭标识 {result.keys_released} 个；"
        f"暂缓 {len(result.held)} 条（仍有未完结的认领或争议）；"
        f"清除举报人联系方式 {result.complaint_contacts} 件；"
        f"删除过期或已下载的导出文件 {swept} 个。"
    )
