"""Forms of the orgs feature. Field rules live in ``orgs.services``: the forms only
require the obvious fields, and views map the service's field messages back on."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length

from charitylink.accounts.models import ROLE_LABELS, Role
from charitylink.core.i18n import _, _l
from charitylink.errors import DomainError
from charitylink.orgs.models import ORG_STATUS_LABELS, ORG_TYPE_LABELS
from charitylink.regions import services as regions


def _max(n: int) -> Length:
    return Length(max=n, message=_l("不能超过 %(max)d 个字符。"))


def _type_choices() -> list[tuple[str, str]]:
    return [("", _("请选择"))] + [(str(k), _(v)) for k, v in ORG_TYPE_LABELS.items()]


class ProfileFields(FlaskForm):
    description = TextAreaField(_l("机构简介"), validators=[_max(2000)])
    contact_name = StringField(_l("联系人"), validators=[_max(64)])
    contact_phone = StringField(
        _l("联系电话"),
        validators=[DataRequired(_l("请填写联系电话。")), _max(32)],
    )
    contact_email = StringField(_l("联系邮箱"), validators=[_max(254)])


class OrgFields(ProfileFields):
    """The organization half of a registration (register, and resubmit after a
    rejection)."""

    name = StringField(
        _l("机构名称"),
        validators=[DataRequired(_l("请填写机构名称。")), _max(100)],
    )
    uscc = StringField(
        _l("统一社会信用代码"),
        validators=[DataRequired(_l("请填写统一社会信用代码。")), _max(64)],
    )
    # Choices are checked by the service (with a Chinese message), not by WTForms.
    org_type = SelectField(_l("机构类型"), validate_choice=False)
    region_code = SelectField(_l("所在地区"), validate_choice=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.org_type.choices = _type_choices()
        self.region_code.choices = [("", _("请选择"))] + regions.choices()


class RegisterForm(OrgFields):
    admin_name = StringField(
        _l("管理员姓名"),
        validators=[DataRequired(_l("请填写管理员姓名。")), _max(64)],
    )
    admin_email = StringField(
        _l("管理员邮箱（登录用）"),
        validators=[DataRequired(_l("请填写管理员邮箱。")), _max(254)],
    )
    admin_password = PasswordField(
        _l("登录密码"),
        validators=[DataRequired(_l("请设置登录密码。")), _max(128)],
    )
    admin_password2 = PasswordField(
        _l("再次输入密码"),
        validators=[
            DataRequired(_l("请再次输入密码。")),
            EqualTo("admin_password", _l("两次输入的密码不一致。")),
        ],
    )


class ProfileForm(ProfileFields):
    pass


class ResubmitForm(OrgFields):
    """A rejected registration, corrected: the organization half only."""


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("原因"), validators=[DataRequired(_l("请填写原因。")), _max(500)]
    )


class MemberForm(FlaskForm):
    name = StringField(
        _l("姓名"), validators=[DataRequired(_l("请填写姓名。")), _max(64)]
    )
    email = StringField(
        _l("邮箱（登录用）"),
        validators=[DataRequired(_l("请填写邮箱。")), _max(254)],
    )
    password = PasswordField(
        _l("初始密码"),
        validators=[DataRequired(_l("请填写初始密码。")), _max(128)],
    )
    role = SelectField(
        _l("角色"),
        choices=[
            (r.value, _l(ROLE_LABELS[r])) for r in (Role.ORG_MEMBER, Role.ORG_ADMIN)
        ],
        validate_choice=False,
    )


def status_choices() -> list[tuple[str, str]]:
    return [("", _("全部状态"))] + [
        (str(k), _(v)) for k, v in ORG_STATUS_LABELS.items()
    ]


def apply_errors(form: FlaskForm, exc: DomainError) -> None:
    """Show a service's field messages on the form; the rest as a flash."""
    shown = False
    for name, message in exc.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
            shown = True
    if not shown or any(name not in form for name in exc.fields):
        flash(exc.message, "error")
