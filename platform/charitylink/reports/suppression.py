"""Small-cell suppression for public figures (SPEC §6).

A *cell* is one figure group of a table row (for example "needs published in
长春市南关区": needs, households, amount requested) together with ``n``, the number
of distinct households behind it. A *group* is a published total and the cells
that add up to it (the rows of a table and its total line; the counties of a city
and the city's row). Two rules:

1. primary — a cell of 1 to 4 households is suppressed (a cell of 0 households
   carries nothing about anyone and stays visible);
2. complementary — a suppressed cell must not be recoverable by subtracting the
   visible cells of a group from the group's visible total. So in every group
   whose total is visible, either no member or at least two members are
   suppressed: when exactly one is, the next smallest visible member (n > 0) is
   suppressed too; when there is none to take, the total itself is suppressed —
   and the total, being a member of its parent group, is then protected there.

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
            if total in hidden:
                continue
            suppressed = [m for m in members if m in hidden]
            if len(suppressed) != 1:
                continue
            candidates = [
                m for m in members if m not in hidden and counts.get(m, 0) > 0
            ]
            if candidates:
                pick = min(candidates, key=lambda m: (counts.get(m, 0), repr(m)))
                hidden[pick] = SECONDARY
            else:
                hidden[total] = SECONDARY
            changed = True
    return hidden


def recoverable(
    values: Mapping[K, int],
    groups: Iterable[tuple[K, Sequence[K]]],
    hidden: Iterable[K],
) -> set[K]:
    """The hidden cells an attacker pins down by subtraction alone.

    Repeatedly: in a group where exactly one of (total, members) is still
    unknown, it equals the total minus the known members (or the sum of the
    members). Used by the tests as the attack the suppression must withstand.
    """
    groups = [(total, list(members)) for total, members in groups]
    unknown = set(hidden)
    known_values = {k: v for k, v in values.items() if k not in unknown}
    found: set[K] = set()
    progress = True
    while progress:
        progress = False
        for total, members in groups:
            cells = [total, *members]
            missing = [c for c in cells if c in unknown]
            if len(missing) != 1:
                continue
            target = missing[0]
            if target == total:
                known_values[target] = sum(known_values.get(m, 0) for m in members)
            else:
                known_values[target] = known_values.get(total, 0) - sum(
                    known_values.get(m, 0) for m in members if m != target
                )
            unknown.discard(target)
            found.add(target)
            progress = True
    return found
