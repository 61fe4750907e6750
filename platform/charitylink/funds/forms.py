"""Fund forms. Field names are stable (the browser tests and the API use them);
the rules live in ``funds.services`` so pages and API refuse the same input."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from charitylink.core.i18n import _l
from charitylink.needs.models import NEED_TYPE_LABELS


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FundForm(FlaskForm):
    name = StringField(_l("基金名称"), render_kw={"maxlength": 100})
    kind = SelectField(
        _l("基金类型"),
        choices=[("named", _l("冠名基金")), ("special", _l("专项基金"))],
        validate_choice=False,
    )
    donor_name = StringField(_l("冠名方（冠名基金必填）"), render_kw={"maxlength": 100})
    need_types = CheckboxListField(
        _l("可资助的需求类型（专项基金必填）"),
        choices=[(k, _l(v)) for k, v in NEED_TYPE_LABELS.items()],
        validate_choice=False,
    )
    region_prefix = StringField(
        _l("地区范围（专项基金可选，区划代码前缀）"), render_kw={"maxlength": 6}
    )
    description = TextAreaField(_l("基金说明"), render_kw={"maxlength": 2000})


class DonationForm(FlaskForm):
    amount = StringField(_l("捐赠金额（元）"), render_kw={"inputmode": "decimal"})
    donor = StringField(_l("捐赠人"), render_kw={"maxlength": 100})
    anonymous = BooleanField(_l("匿名捐赠（公开页面显示为“匿名”）"))
    reference = StringField(_l("凭证号 / 备注"), render_kw={"maxlength": 100})


class ReversalForm(FlaskForm):
    # Shown on the public fund page beside the reversal.
    reason = StringField(
        _l("冲正原因（公开显示）"),
        validators=[DataRequired(_l("请填写冲正原因。")), Length(max=500)],
    )
