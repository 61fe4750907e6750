"""Small-cell suppression for public figures (docs/reports.md).

A *cell* is one figure group of a table row (for example "needs published in
长春市南关区": needs, households, amount requested) together with ``n``, the number
of distinct households behind it. A *group* is a published total and the cells
that add up to it (the rows of a table and its total line; the counties of a city
and the city's row). Two rules:

1. primary — a cell of 1 to 4 households is suppressed (a cell of 0 households
   carries nothing about anyone and stays visible);
2. complementary — a suppressed cell must not be recoverable by subtracting the
   visible cells of a group from the group's total (or by adding up the members
   of a hidden total). So in every group the cells hidden among (total, members)
   number 0 or at least 2: when exactly one is hidden, the next smallest visible
   member (n > 0) is hidden too; when there is none to take, the total itself —
   which, being a member of its parent group, is then protected there.

The rules are applied until nothing changes, over all groups at once, because
the same total (the headline figures) closes several tables and a region is a
member of its city and a total of its counties.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

THRESHOLD = 5
PRIMARY = "primary"
SECONDARY = "secondary"


def suppress(
    counts: Mapping[K, int],
    groups: Iterable[tuple[K, Sequence[K]]],
    threshold: int = THRESHOLD,
) -> dict[K, str]:
    """Which cells to hide: ``{key: "primary" | "secondary"}``.

    ``counts`` maps every cell (totals included) to its household count;
    ``groups`` lists ``(total_key, member_keys)``. Keys missing from ``counts``
    count as 0 households.
    """
    groups = [(total, list(members)) for total, members in groups]
    hidden: dict[K, str] = {
        key: PRIMARY for key, n in counts.items() if 0 < n < threshold
    }
    changed = True
    while changed:
        changed = False
        for total, members in groups:
            unknown = [c for c in (total, *members) if c in hidden]
            if len(unknown) != 1:
                continue
            # Exactly one unknown cell: it would follow from the others.
            candidates = [
                m for m in members if m not in hidden and counts.get(m, 0) > 0
            ]
            if candidates:
                pick = min(candidates, key=lambda m: (counts.get(m, 0), repr(m)))
            elif unknown[0] != total:
                pick = total
            else:
                # A hidden total over members that are all empty: hide one of
                # them anyway so the total is not their visible sum.
                rest = [m for m in members if m not in hidden]
                if not rest:
                    continue
                pick = min(rest, key=lambda m: (counts.get(m, 0), repr(m)))
            hidden[pick] = SECONDARY
            changed = True
    return hidden
