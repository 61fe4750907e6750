"""The bodies of actions that take a reason (``{"reason": "…"}``).

The service checks the reason (``core.reasons.clean_reason``) after it has
checked who may act, so these schemas document the body; ``reason_body`` in
``api/__init__.py`` reads it."""

from __future__ import annotations

from charitylink.api.fields import Body, text


class ReasonSchema(Body):
    reason = text(500, "原因", filled=True, required=True)


class ReasonOptionalSchema(Body):
    reason = text(500, "原因", nullable=True)


class ProjectReasonSchema(Body):
    reason = text(1000, "原因", filled=True, required=True)


class ProjectReasonOptionalSchema(Body):
    reason = text(1000, "原因", nullable=True)


class ProjectCloseSchema(Body):
    reason = text(1000, "原因", nullable=True)
    final_report = text(
        5000, "结项报告（公开，作为最后一条项目进展）", filled=True, required=True
    )
