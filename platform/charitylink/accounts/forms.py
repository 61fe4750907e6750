from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, StopValidation

from charitylink.core.i18n import _, _l


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


def _email_format(_form: FlaskForm, field: Field) -> None:
    # The platform's own pattern (the one accounts are created with).
    from charitylink.accounts.services import EMAIL_RE, normalize_email

    if not EMAIL_RE.match(normalize_email(field.data)):
        raise StopValidation(_("邮箱格式不正确。"))


class ForgotForm(FlaskForm):
    email = EmailField(
        _l("邮箱"),
        validators=[
            DataRequired(_l("请填写邮箱。")),
            Length(max=254, message=_l("邮箱格式不正确。")),
            _email_format,
        ],
    )


class ResetForm(FlaskForm):
    new_password = PasswordField(
        _l("新密码"), validators=[DataRequired(_l("请填写新密码。")), Length(max=128)]
    )
    confirm_password = PasswordField(
        _l("再输入一次新密码"),
        validators=[
            DataRequired(_l("请再输入一次新密码。")),
            EqualTo("new_password", _l("两次输入的密码不一致。")),
        ],
    )
