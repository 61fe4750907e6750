"""Cost of the privacy guard on a long project body, as a ratio to a baseline.

Builds a 20,000-character project body of ordinary Chinese prose (amounts,
dates, ages, counts, a progress table), then times, best of several rounds:

- the guard: ``text_guard.scan_fields`` over title, summary and body together,
  with 50 household names to look for;
- the baseline: one plain pass over the same text, ``str.lower()`` and a
  ``re.findall(r"\\d+")``, the least any scanner has to do.

The ratio (guard / baseline) is what to compare between machines; the absolute
times are printed for the record. Run: ``.venv/bin/python bench/text_guard.py``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))

from charitylink.core import text_guard  # noqa: E402

PARAGRAPHS = [
    "2026年12月1日，项目在长春市朝阳区启动，首批资助 35 户困难家庭，"
    "每户每月补贴 ¥450 元，全年合计 ¥189,000 元。",
    "受助学生年龄 7 到 15 岁，家庭人口 3 到 5 人，其中 12 户为三口之家，"
    "两位老人今年分别 78 岁和 81 岁。",
    "第二季度（2026-04-01 至 2026-06-30）完成走访 120 次，发放助学金 ¥36,000，"
    "物资 2,400 件，完成率 87.5%。",
    "志愿者分 3 组开展活动，每组 6 到 8 人，每周二、周四 14:00-16:30 上门服务。",
    "项目资金来自冠名基金和专项基金，账目按月公示，详见机构年报第 12 页。",
]
NAMES = [
    f"{surname}{given}" for surname in "王李张刘陈" for given in "伟芳娜敏静丽强磊军洋"
]


def body(size: int) -> str:
    text, i = [], 0
    while sum(map(len, text)) < size:
        text.append(f"{i + 1}. " + PARAGRAPHS[i % len(PARAGRAPHS)] + "\n")
        i += 1
    return "".join(text)[:size]


def best_of(rounds: int, fn) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    text = body(args.size)
    fields = [
        ("title", "项目名称", "2026 年冬季助学项目"),
        ("summary", "项目简介", PARAGRAPHS[0]),
        ("body", "项目详情", text),
    ]
    assert text_guard.scan_fields(fields, NAMES) == {}, "the benchmark text is clean"

    def baseline() -> None:
        text.lower()
        re.findall(r"\d+", text)

    base = best_of(args.rounds, baseline)
    guard = best_of(args.rounds, lambda: text_guard.scan_fields(fields, NAMES))
    print(f"text: {len(text):,} characters, {len(NAMES)} household names")
    print(f"baseline (lower + digit regex): {base * 1000:.2f} ms")
    print(f"guard (scan_fields):            {guard * 1000:.2f} ms")
    print(f"ratio guard / baseline:         {guard / base:.0f}×")


if __name__ == "__main__":
    main()
