"""Small-cell suppression: no cell under 5 households is shown, and no hidden
cell can be recovered by subtraction from the totals (property tests)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from charitylink.reports.suppression import PRIMARY, SECONDARY, suppress


def attack(
    values: Mapping[Hashable, int],
    groups: Iterable[tuple[Hashable, Sequence[Hashable]]],
    hidden: Iterable[Hashable],
) -> set[Hashable]:
    """What an attacker pins down by subtraction alone: repeatedly, in a group
    where exactly one of (total, members) is unknown, it is the total minus the
    known members (or the members' sum). Written here, apart from the code under
    test, as the attack the suppression must withstand."""
    groups = [(t, list(m)) for t, m in groups]
    unknown = set(hidden)
    known = {k: v for k, v in values.items() if k not in unknown}
    found: set[Hashable] = set()
    progress = True
    while progress:
        progress = False
        for total, members in groups:
            missing = [c for c in (total, *members) if c in unknown]
            if len(missing) != 1:
                continue
            target = missing[0]
            if target == total:
                known[target] = sum(known[m] for m in members)
            else:
                known[target] = known[total] - sum(
                    known[m] for m in members if m != target
                )
            assert known[target] == values[target]  # the attack is sound
            unknown.discard(target)
            found.add(target)
            progress = True
    return found


def test_primary_and_complementary_in_one_row():
    counts = {"T": 30, "a": 3, "b": 7, "c": 20}
    hidden = suppress(counts, [("T", ["a", "b", "c"])])
    assert hidden == {"a": PRIMARY, "b": SECONDARY}


def test_zero_cells_are_shown_and_never_chosen_as_complement():
    counts = {"T": 3, "a": 3, "b": 0}
    hidden = suppress(counts, [("T", ["a", "b"])])
    assert "b" not in hidden and hidden["a"] == PRIMARY and hidden["T"] == PRIMARY


def test_total_hidden_when_no_complement_exists_then_protected_above():
    counts = {"R": 60, "C1": 12, "C2": 48, "a": 3, "b": 0, "x": 9}
    groups = [("R", ["C1", "C2"]), ("C1", ["a", "b", "x"])]
    values = {"R": 600, "C1": 120, "C2": 480, "a": 30, "b": 0, "x": 90}
    hidden = suppress(counts, groups)
    assert hidden["a"] == PRIMARY and hidden["x"] == SECONDARY
    assert not attack(values, groups, hidden) & set(hidden)


def test_hidden_total_with_visible_members_gets_a_member_hidden():
    # A city chosen as complement must not be the visible sum of its counties.
    counts = {"R": 100, "A": 3, "B": 20, "b1": 10, "b2": 10, "C": 77}
    groups = [("R", ["A", "B", "C"]), ("B", ["b1", "b2"])]
    values = {"R": 1000, "A": 30, "B": 200, "b1": 100, "b2": 100, "C": 770}
    hidden = suppress(counts, groups)
    assert {"A", "B"} <= set(hidden)
    assert len({"b1", "b2"} & set(hidden)) == 1  # B and b1: two unknowns
    assert not attack(values, groups, hidden)


cells = st.tuples(st.integers(0, 12), st.integers(0, 50_000))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            cells.map(lambda c: [c]),  # a leaf directly under the root
            st.lists(cells, min_size=1, max_size=5),  # a parent with leaves
        ),
        min_size=1,
        max_size=6,
    )
)
def test_no_hidden_cell_is_recoverable_in_a_hierarchy(tree):  # type: ignore[no-untyped-def]
    counts: dict[str, int] = {}
    values: dict[str, int] = {}
    groups: list[tuple[str, list[str]]] = []
    children = []
    for i, leaves in enumerate(tree):
        child = f"c{i}"
        children.append(child)
        if len(leaves) == 1:
            counts[child], values[child] = leaves[0]
            continue
        keys = [f"c{i}.{j}" for j in range(len(leaves))]
        for k, (n, v) in zip(keys, leaves, strict=True):
            counts[k], values[k] = n, v
        counts[child] = sum(counts[k] for k in keys)
        values[child] = sum(values[k] for k in keys)
        groups.append((child, keys))
    counts["T"] = sum(counts[c] for c in children)
    values["T"] = sum(values[c] for c in children)
    groups.append(("T", children))

    hidden = suppress(counts, groups)

    for key, n in counts.items():
        if 0 < n < 5:
            assert hidden.get(key) == PRIMARY
    assert not attack(values, groups, hidden) & set(hidden)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 4), cells),
        min_size=1,
        max_size=25,
    )
)
def test_two_tables_sharing_a_total_leak_nothing(atoms):  # type: ignore[no-untyped-def]
    """Like by_need_type and by_month: two cuts of the same households with the
    same total line."""
    counts: dict[tuple, int] = {"T": 0}
    values: dict[tuple, int] = {"T": 0}
    for a, b, (n, v) in atoms:
        for key in (("A", a), ("B", b)):
            counts[key] = counts.get(key, 0) + n
            values[key] = values.get(key, 0) + v
        counts["T"] += n
        values["T"] += v
    groups = [
        ("T", [k for k in counts if k[0] == "A"]),
        ("T", [k for k in counts if k[0] == "B"]),
    ]
    hidden = suppress(counts, groups)
    for key, n in counts.items():
        if 0 < n < 5:
            assert key in hidden
    assert not attack(values, groups, hidden) & set(hidden)
