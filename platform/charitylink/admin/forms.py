"""Forms of the admin area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from charitylink.core.i18n import _l

_MAX = _l("不能超过 %(max)d 个字符。")


class ModeratorForm(FlaskForm):
    name = StringField(
        _l("姓名"),
        validators=[DataRequired(_l("请填写姓名。")), Length(max=64, message=_MAX)],
    )
    email = StringField(
        _l("邮箱（登录用）"),
        validators=[DataRequired(_l("请填写邮箱。")), Length(max=254, message=_MAX)],
    )
    password = PasswordField(
        _l("初始密码"),
        validators=[
            DataRequired(_l("请填写初始密码。")),
            Length(max=128, message=_MAX),
        ],
    )
    region_prefix = StringField(
        _l("负责区划（代码前缀）"),
        validators=[
            DataRequired(_l("请填写负责的行政区划代码前缀。")),
            Length(max=12, message=_MAX),
        ],
    )
