"""Forms of the consent pages and of the export with private data. They only
shape input: the rules are in privacy/consents.py and exports/private.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from charitylink.core.i18n import _l
from charitylink.privacy.models import CONSENT_METHOD_LABELS, CONSENT_SCOPE_LABELS


class ConsentForm(FlaskForm):
    scope = SelectField(
        _l("同意事项"),
        choices=[("", _l("请选择"))]
        + [(k.value, _l(v)) for k, v in CONSENT_SCOPE_LABELS.items()],
        validate_choice=False,
    )
    method = SelectField(
        _l("同意方式"),
        choices=[("", _l("请选择"))]
        + [(k.value, _l(v)) for k, v in CONSENT_METHOD_LABELS.items()],
        validate_choice=False,
    )
    # Parsed by the service (core.timeutil.parse_day): one Chinese message.
    given_on = StringField(
        _l("同意日期"), validators=[Length(max=32)], render_kw={"type": "date"}
    )
    guardian_name = StringField(
        _l("监护人姓名（监护人同意时填写）"), validators=[Optional(), Length(max=40)]
    )
    form = FileField(_l("签字的同意书扫描件（可选，JPEG/PNG/PDF，不超过5MB）"))


class ConsentFileForm(FlaskForm):
    form = FileField(_l("签字的同意书扫描件（JPEG/PNG/PDF，不超过5MB）"))


class WithdrawConsentForm(FlaskForm):
    reason = TextAreaField(
        _l("撤回原因"),
        validators=[DataRequired(_l("请填写原因。")), Length(max=500)],
    )


class PrivateExportForm(FlaskForm):
    fmt = SelectField(_l("格式"), choices=[("xlsx", "Excel (xlsx)"), ("csv", "CSV")])
    reason = TextAreaField(
        _l("导出原因（必填，记入审计日志并写入文件）"),
        validators=[DataRequired(_l("请填写原因。")), Length(max=500)],
    )
