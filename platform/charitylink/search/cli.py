"""``flask --app wsgi search ...`` (issue 4 fills this in)."""

import click
from flask.cli import AppGroup

search = AppGroup("search", help="Search index commands.")


@search.command("rebuild")
def rebuild() -> None:
    """Rebuild the search index from the database."""
    raise click.ClickException("尚未实现。")
