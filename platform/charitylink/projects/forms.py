"""Project forms. Field names match the API's so one set of service
messages serves both; the rules live in ``projects.services``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from charitylink.core.i18n import _l
from charitylink.needs.models import NEED_TYPE_LABELS


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProjectForm(FlaskForm):
    title = StringField(_l("项目名称"), render_kw={"maxlength": 120})
    fund_id = SelectField(_l("资金来源（本机构基金）"), validate_choice=False)
    filing_number = StringField(
        _l("慈善中国备案编号（公开募捐项目填写）"), render_kw={"maxlength": 64}
    )
    summary = TextAreaField(_l("项目简介"), render_kw={"maxlength": 500})
    body = TextAreaField(_l("项目详情（支持 Markdown）"), render_kw={"rows": 12})
    need_types = CheckboxListField(
        _l("帮扶的需求类型"),
        choices=[(k, _l(v)) for k, v in NEED_TYPE_LABELS.items()],
        validate_choice=False,
    )
    region_codes = StringField(_l("覆盖地区（行政区划代码，多个用逗号或空格分隔）"))
    target_amount = StringField(
        _l("目标金额（元）"), render_kw={"inputmode": "decimal"}
    )
    start_on = StringField(_l("开始日期"), render_kw={"type": "date"})
    end_on = StringField(_l("结束日期"), render_kw={"type": "date"})


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("理由"), render_kw={"maxlength": 1000})


class ProgressForm(FlaskForm):
    body = TextAreaField(_l("进展内容"), render_kw={"maxlength": 5000, "rows": 5})


class CloseForm(FlaskForm):
    final_report = TextAreaField(
        _l("结项报告（公开，作为项目的最后一条进展）"),
        render_kw={"maxlength": 5000, "rows": 6},
    )
    reason = TextAreaField(
        _l("结束原因（可选，仅记入审计日志）"), render_kw={"maxlength": 1000}
    )
