"""Forms of the matching pages (供需对接): the match, a session, the delivery."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from charitylink.claims.matching import MAX_MONTHS, SESSION_NOTE_MAX
from charitylink.core.i18n import _l


class MatchForm(FlaskForm):
    need = StringField(
        _l("需求编号"),
        validators=[DataRequired(_l("请填写需求编号。")), Length(max=40)],
    )
    quantity = IntegerField(
        _l("每月数量"),
        validators=[
            InputRequired(_l("请填写每月数量。")),
            NumberRange(min=1, message=_l("每月数量必须是正整数。")),
        ],
        render_kw={"inputmode": "numeric", "min": 1},
    )
    months = IntegerField(
        _l("月数"),
        default=1,
        validators=[
            InputRequired(_l("请填写月数。")),
            NumberRange(
                min=1, max=MAX_MONTHS, message=_l("月数必须是 1 到 12 之间的整数。")
            ),
        ],
        render_kw={"inputmode": "numeric", "min": 1, "max": MAX_MONTHS},
    )


class SessionForm(FlaskForm):
    held_on = StringField(
        _l("服务日期"),
        validators=[DataRequired(_l("请填写服务日期。")), Length(max=32)],
        render_kw={"type": "date"},
    )
    quantity = IntegerField(
        _l("数量"),
        validators=[
            InputRequired(_l("请填写数量。")),
            NumberRange(min=1, message=_l("数量必须是正整数。")),
        ],
        render_kw={"inputmode": "numeric", "min": 1},
    )
    hours = StringField(
        _l("时长（小时）"),
        default="0",
        validators=[Optional(), Length(max=8)],
        render_kw={"inputmode": "decimal"},
    )
    volunteers = IntegerField(
        _l("志愿者人数"),
        default=0,
        validators=[
            InputRequired(_l("请填写志愿者人数（没有填 0）。")),
            NumberRange(
                min=0, max=1000, message=_l("志愿者人数必须是 0 到 1000 之间的整数。")
            ),
        ],
        render_kw={"inputmode": "numeric", "min": 0},
    )
    note = TextAreaField(
        _l("备注"), validators=[Optional(), Length(max=SESSION_NOTE_MAX)]
    )


class MatchDeliverForm(FlaskForm):
    note = TextAreaField(_l("交付说明"), validators=[Optional(), Length(max=2000)])
