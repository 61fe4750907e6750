"""The English catalogue is complete, current and compiled (docs/i18n.md).

- every msgid has an English translation (no empty, no fuzzy entry) and none
  keeps a Chinese character;
- every string marked in the code and the templates is in the catalogue (run
  ``make messages`` after marking new ones);
- placeholders (``%(name)s``) agree between the Chinese and the English;
- the compiled ``.mo`` says what the ``.po`` says (``make translations``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "platform" / "charitylink" / "translations"
PO = CATALOGS / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "_l": None, "N_": None, "gettext": None, "lazy_gettext": None}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalog():  # type: ignore[no-untyped-def]
    with PO.open("rb") as f:
        return read_po(f)


def _entries() -> list:  # type: ignore[type-arg]
    return [m for m in _catalog() if m.id]


def _parts(value) -> list[str]:  # type: ignore[no-untyped-def]
    """A msgid or msgstr as its strings (a plural entry has one per form)."""
    return list(value) if isinstance(value, tuple) else [value or ""]


def test_every_msgid_has_an_english_translation():
    missing = [m.id for m in _entries() if not all(_parts(m.string)) or m.fuzzy]
    assert not missing, (
        f"{len(missing)} msgids without an English translation in {PO.name} "
        f"(first ones: {missing[:10]})"
    )


# Values a person types into an import file as they are (是/否 for yes/no, 无
# for none, the full-width separator): the English quotes them.
QUOTED_INPUT = re.compile(r"[是否无；]")


def test_no_translation_keeps_chinese():
    chinese = [
        (m.id, m.string)
        for m in _entries()
        if CJK.search(QUOTED_INPUT.sub("", str(m.string)))
    ]
    assert not chinese, chinese[:10]


def test_placeholders_agree():
    wrong = [
        (m.id, m.string)
        for m in _entries()
        if all(_parts(m.string))
        and sorted(set(PLACEHOLDER.findall(" ".join(_parts(m.id)))))
        != sorted(set(PLACEHOLDER.findall(" ".join(_parts(m.string)))))
    ]
    assert not wrong, wrong[:10]


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
        if message
    }


@pytest.mark.slow
def test_catalog_holds_every_marked_string():
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in _entries()}
    new = sorted(_extracted() - known)
    assert not new, (
        f"{len(new)} marked strings are not in the catalogue: run `make messages`, "
        f"translate them in {PO.relative_to(ROOT)} (first ones: {new[:10]})"
    )


def _key(value):  # type: ignore[no-untyped-def]
    # The .mo reader gives a plural entry's forms as a list, the .po reader a tuple.
    return tuple(value) if isinstance(value, list | tuple) else value


def test_compiled_catalog_matches_the_source():
    assert MO.exists(), f"{MO.relative_to(ROOT)} is missing: run `make translations`"
    with MO.open("rb") as f:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    source = {
        _key(m.id): _key(m.string) for m in _entries() if m.string and not m.fuzzy
    }
    assert compiled == source, (
        f"{MO.name} is older than {PO.name}: run `make translations`"
    )
