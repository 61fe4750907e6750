from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from charitylink.core.i18n import _l


class LoginForm(FlaskForm):
    email = EmailField(
        _l("邮箱"), validators=[DataRequired(_l("请填写邮箱。")), Length(max=254)]
    )
    password = PasswordField(
        _l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=128)]
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("当前密码"), validators=[DataRequired(_l("请填写当前密码。"))]
    )
    new_password = PasswordField(
        _l("新密码"), validators=[DataRequired(_l("请填写新密码。")), Length(max=128)]
    )


class TokenForm(FlaskForm):
    name = StringField(_l("令牌用途"), validators=[Length(max=64)])


class MemberForm(FlaskForm):
    email = EmailField(
        _l("邮箱"),
        validators=[DataRequired(_l("请填写邮箱。")), Email(_l("邮箱格式不正确。"))],
    )
    name = StringField(_l("姓名"), validators=[Length(max=64)])
    password = PasswordField(
        _l("初始密码"),
        validators=[DataRequired(_l("请填写初始密码。")), Length(max=128)],
    )
