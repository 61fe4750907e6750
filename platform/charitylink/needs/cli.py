"""``flask --app wsgi import-needs FILE`` (issue 5 fills this in)."""

import click


@click.command("import-needs")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_needs(path: str) -> None:
    """Import needs from a CSV or XLSX file."""
    raise click.ClickException("尚未实现。")
