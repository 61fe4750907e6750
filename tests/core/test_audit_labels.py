"""Every audit action code has a Chinese label, and the audit log shows it."""

from __future__ import annotations

import re
from pathlib import Path

from charitylink.core.audit import (
    AUDIT_ACTION_LABELS,
    AUDIT_GROUP_LABELS,
    AUDIT_OBJECT_LABELS,
)

PACKAGE = Path(__file__).resolve().parents[2] / "platform" / "charitylink"
# An action code is "<group>.<verb>" in a string literal; attribute paths of
# the API's schemas ("need.code") are the only other strings of that shape.
GROUPS = "|".join(AUDIT_GROUP_LABELS)
CODE = re.compile(rf"(?<!attribute=)\"((?:{GROUPS})\.[a-z_]+)\"")


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name == "audit.py" and path.parent.name == "core":
            continue
        if path.parent.name == "webhooks" and path.name == "models.py":
            # The webhook event names (need.published …), not audit codes.
            continue
        found |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_action_code_in_the_source_has_a_label():
    codes = _codes_in_source()
    assert "need.approve" in codes and "claim.deliver" in codes  # the scan works
    assert not sorted(codes - set(AUDIT_ACTION_LABELS)), "add labels in core/audit.py"
    assert not sorted(set(AUDIT_ACTION_LABELS) - codes), "stale labels"
    for code in AUDIT_ACTION_LABELS:
        assert code.split(".")[0] in AUDIT_GROUP_LABELS


def test_audit_log_shows_chinese_labels_and_the_code_unbroken(
    client, login_as, create_user, create_need
):
    mod = create_user("moderator", region_prefix="2201")
    need = create_need(entered_by=mod, status="draft")
    html = login_as(mod).get("/mod/audit").get_data(as_text=True)
    assert "吉林省长春市的事件" in html
    assert "录入需求" in html
    assert '<code class="nowrap">need.create</code>' in html
    assert (
        f'{AUDIT_OBJECT_LABELS["need"]} <span class="nowrap">{need.code}</span>' in html
    )
    assert "→ 草稿" in html  # the status by its label, not "draft"
    # The filter offers the actions by name and keeps a chosen one.
    filtered = login_as(mod).get("/mod/audit?action=need.").get_data(as_text=True)
    assert '<option value="need." selected>需求：全部操作</option>' in filtered
    assert "录入需求" in filtered
