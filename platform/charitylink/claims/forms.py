"""Forms of the claims pages. Amounts are typed in yuan (core.money.parse_yuan)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from charitylink.claims.models import DELIVERY_METHOD_LABELS
from charitylink.core.i18n import _l


class ClaimForm(FlaskForm):
    """Fund and project choices are filled by the view (the org's own only)."""

    # Whether the chosen fund may pay is the service's rule (with its reason),
    # not WTForms' "Not a valid choice".
    fund_id = SelectField(
        _l("资助基金"),
        coerce=int,
        validators=[DataRequired(_l("请选择基金。"))],
        validate_choice=False,
    )
    amount = StringField(
        _l("认领金额（元）"),
        validators=[DataRequired(_l("请填写金额。")), Length(max=32)],
    )
    project_id = SelectField(
        _l("所属帮扶项目（可选）"), coerce=int, default=0, validate_choice=False
    )
    # A pairing (结对关爱, claims.pairing): both or neither; checked by the view.
    months = StringField(
        _l("结对月数（可选，2–36）"), validators=[Optional(), Length(max=4)]
    )
    monthly_amount = StringField(
        _l("每月金额（元）"), validators=[Optional(), Length(max=32)]
    )


class DeliverForm(FlaskForm):
    delivered_amount = StringField(
        _l("实际交付金额（元）"),
        validators=[DataRequired(_l("请填写交付金额。")), Length(max=32)],
    )
    # Parsed by the view with core.timeutil.parse_day (a Chinese message for
    # a bad date, not WTForms' English one).
    delivered_on = StringField(
        _l("交付日期"),
        validators=[DataRequired(_l("请填写交付日期。")), Length(max=32)],
        render_kw={"type": "date"},
    )
    method = SelectField(
        _l("交付方式"),
        choices=[("", _l("请选择"))]
        + [(k.value, _l(v)) for k, v in DELIVERY_METHOD_LABELS.items()],
        validators=[DataRequired(_l("请选择交付方式。"))],
        validate_choice=False,
    )
    note = TextAreaField(_l("交付说明"), validators=[Optional(), Length(max=2000)])
    evidence = FileField(_l("交付凭证（可选，JPEG/PNG/PDF，不超过5MB）"))


class ReasonForm(FlaskForm):
    reason = StringField(_l("原因（可选）"), validators=[Optional(), Length(max=500)])


class DisputeForm(FlaskForm):
    """Instead of confirming: what the household says it received, and why."""

    received_amount = StringField(
        _l("家庭实际收到的金额（元）"),
        validators=[
            DataRequired(_l("请填写家庭实际收到的金额（未收到填 0）。")),
            Length(max=32),
        ],
    )
    reason = TextAreaField(
        _l("异议原因"),
        validators=[DataRequired(_l("请填写异议原因。")), Length(max=500)],
    )


class RespondForm(FlaskForm):
    note = TextAreaField(
        _l("答复说明"),
        validators=[DataRequired(_l("请填写答复说明。")), Length(max=2000)],
    )
    evidence = FileField(_l("凭证（可选，JPEG/PNG/PDF，不超过5MB）"))


class ResolveForm(FlaskForm):
    outcome = SelectField(
        _l("处理结果"),
        choices=[
            ("", _l("请选择")),
            ("confirm", _l("确认交付（全额）")),
            ("partial", _l("部分确认（其余撤销，退回基金待追回）")),
            ("reverse", _l("撤销交付（全额退回基金待追回）")),
        ],
        validators=[DataRequired(_l("请选择处理结果。"))],
        validate_choice=False,
    )
    confirmed_amount = StringField(
        _l("确认金额（元，仅部分确认时填写）"),
        validators=[Optional(), Length(max=32)],
    )
    reason = TextAreaField(
        _l("处理理由"),
        validators=[DataRequired(_l("请填写处理理由。")), Length(max=500)],
    )


class ExtendForm(FlaskForm):
    due_on = StringField(
        _l("新的交付期限"),
        validators=[DataRequired(_l("请填写新的交付期限。")), Length(max=32)],
        render_kw={"type": "date"},
    )
    reason = StringField(
        _l("延期原因"),
        validators=[DataRequired(_l("请填写延期原因。")), Length(max=500)],
    )
