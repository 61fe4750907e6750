"""Forms of complaints. The rules are the service's (``check_submission``,
``check_resolution``): the forms only shape what was typed."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from charitylink.complaints.models import (
    COMPLAINT_CATEGORY_LABELS,
    COMPLAINT_OUTCOME_LABELS,
    COMPLAINT_SUBJECT_LABELS,
)
from charitylink.complaints.services import (
    CONTACT_MAX,
    NOTE_MAX,
    PUBLISHED_MAX,
    TEXT_MAX,
)
from charitylink.core.i18n import _, _l


def _choices(labels: dict) -> list[tuple[str, str]]:
    return [("", _("请选择"))] + [(str(k), _(v)) for k, v in labels.items()]


class ComplaintForm(FlaskForm):
    # Choices are checked by the service, with its Chinese message.
    subject_type = SelectField(_l("举报对象"), validate_choice=False)
    subject_id = StringField(_l("对象编号"))
    category = SelectField(_l("举报类别"), validate_choice=False)
    text = TextAreaField(_l("举报内容"), render_kw={"maxlength": TEXT_MAX, "rows": 8})
    contact = StringField(_l("联系方式（可选）"), render_kw={"maxlength": CONTACT_MAX})
    # The honeypot: hidden from people (CSS, aria-hidden), filled by form bots.
    website = StringField(
        _l("网站"), render_kw={"tabindex": "-1", "autocomplete": "off"}
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.subject_type.choices = _choices(COMPLAINT_SUBJECT_LABELS)
        self.category.choices = _choices(COMPLAINT_CATEGORY_LABELS)

    def data_for_service(self) -> dict[str, str]:
        return {
            "subject_type": self.subject_type.data or "",
            "subject_id": self.subject_id.data or "",
            "category": self.category.data or "",
            "text": self.text.data or "",
            "contact": self.contact.data or "",
        }


class ResolveForm(FlaskForm):
    outcome = SelectField(_l("核查结论"), validate_choice=False)
    note = TextAreaField(
        _l("核查情况说明（仅审核员可见）"), render_kw={"maxlength": NOTE_MAX, "rows": 5}
    )
    published_text = TextAreaField(
        _l("公开的处理结果（可选）"),
        render_kw={"maxlength": PUBLISHED_MAX, "rows": 3},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.outcome.choices = _choices(COMPLAINT_OUTCOME_LABELS)
