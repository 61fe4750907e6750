"""Forms of the claims pages. Amounts are typed in yuan (core.money.parse_yuan)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from charitylink.claims.models import DELIVERY_METHOD_LABELS
from charitylink.core.i18n import _l


class ClaimForm(FlaskForm):
    """Fund and project choices are filled by the view (the org's own only)."""

    fund_id = SelectField(
        _l("资助基金"), coerce=int, validators=[DataRequired(_l("请选择基金。"))]
    )
    amount = StringField(
        _l("认领金额（元）"),
        validators=[DataRequired(_l("请填写金额。")), Length(max=32)],
    )
    project_id = SelectField(_l("所属帮扶项目（可选）"), coerce=int, default=0)


class DeliverForm(FlaskForm):
    delivered_amount = StringField(
        _l("实际交付金额（元）"),
        validators=[DataRequired(_l("请填写交付金额。")), Length(max=32)],
    )
    delivered_on = DateField(
        _l("交付日期"),
        validators=[DataRequired(_l("请填写交付日期。"))],
        format="%Y-%m-%d",
    )
    method = SelectField(
        _l("交付方式"),
        choices=[(k.value, v) for k, v in DELIVERY_METHOD_LABELS.items()],
        validators=[DataRequired(_l("请选择交付方式。"))],
    )
    note = TextAreaField(_l("交付说明"), validators=[Optional(), Length(max=2000)])
    evidence = FileField(_l("交付凭证（可选，JPEG/PNG/PDF，不超过5MB）"))


class ReasonForm(FlaskForm):
    reason = StringField(_l("原因（可选）"), validators=[Optional(), Length(max=500)])
