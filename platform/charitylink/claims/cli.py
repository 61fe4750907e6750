"""``flask --app wsgi expire`` (issue 3 fills this in)."""

import click


@click.command("expire")
def expire() -> None:
    """Expire reserved claims past their due date and needs past their deadline."""
    raise click.ClickException("尚未实现。")
