"""The offer form. Field names match the API's so one set of service messages
serves both; the rules live in ``offers.services``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from charitylink.core.i18n import N_, _l
from charitylink.needs.models import NEED_TYPE_LABELS
from charitylink.offers.models import OFFER_KIND_LABELS, OFFER_UNITS
from charitylink.projects.forms import CheckboxListField

# The units are the API's own words (the stored values); their labels on the
# form follow the page's language.
UNIT_KEYS = {"session": "次", "hour": "小时", "item": "件", "portion": "份"}
assert set(UNIT_KEYS.values()) == set(OFFER_UNITS)
UNIT_LABELS = {
    "次": N_("次（人次、场次）"),
    "小时": N_("小时"),
    "件": N_("件（物品）"),
    "份": N_("份（餐食等）"),
}


class OfferForm(FlaskForm):
    kind = SelectField(
        _l("类别"),
        choices=[(k.value, _l(v)) for k, v in OFFER_KIND_LABELS.items()],
        validate_choice=False,
    )
    title = StringField(_l("供给名称"), render_kw={"maxlength": 120})
    description = TextAreaField(
        _l("供给说明（公开）"), render_kw={"maxlength": 5000, "rows": 5}
    )
    need_types = CheckboxListField(
        _l("可帮扶的需求类型"),
        choices=[(k, _l(v)) for k, v in NEED_TYPE_LABELS.items()],
        validate_choice=False,
    )
    region_prefix = StringField(_l("服务地区（行政区划代码）"))
    unit = SelectField(
        _l("计量单位"),
        choices=[(k, _l(UNIT_LABELS[u])) for k, u in UNIT_KEYS.items()],
        validate_choice=False,
    )
    capacity_per_month = StringField(
        _l("每月可提供数量"), render_kw={"inputmode": "numeric"}
    )
    unit_value = StringField(_l("每单位估值（元）"), render_kw={"inputmode": "decimal"})
    start_on = StringField(_l("开始日期"), render_kw={"type": "date"})
    end_on = StringField(_l("结束日期（可不填）"), render_kw={"type": "date"})
