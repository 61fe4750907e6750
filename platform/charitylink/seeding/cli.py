"""``flask --app wsgi seed``: the demo, and generated data for the benchmarks."""

from __future__ import annotations

import click


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
@click.option(
    "--no-search-index",
    "no_search_index",
    is_flag=True,
    help="生成需求后不重建搜索索引（分步载入：之后运行 search rebuild）。",
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
    no_search_index: bool = False,
) -> None:
    """Load the demo data in seeds/ into an empty database.

    ``--orgs/--funds/--projects/--needs N`` add generated fictional data for the
    benchmarks (bench/load.py, bench/search.py)."""
    from charitylink.seeding import demo, generated

    def extras() -> None:
        for n, generate in (
            (bench_orgs, generated.generate_orgs),
            (bench_funds, generated.generate_funds),
            (bench_projects, generated.generate_projects),
        ):
            if n:
                generate(n)

    if demo.has_data():
        if if_empty:
            click.echo("数据库已有数据，跳过演示数据。")
            extras()
            if extra_needs:
                generated.generate_needs(extra_needs, search_index=not no_search_index)
            return
        raise click.ClickException("数据库不是空的：演示数据只能载入空数据库。")
    demo.load_demo()
    extras()
    if extra_needs:
        # rebuilds the search index itself, unless told not to
        generated.generate_needs(extra_needs, search_index=not no_search_index)
    else:
        from charitylink.search import indexer

        indexer.rebuild()
    click.echo("演示数据已载入。")
