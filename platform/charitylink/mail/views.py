"""The admin's outbox page (/admin/mail) and the unsubscribe link of every
notification mail (/unsubscribe/<token>)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from charitylink.core.i18n import N_, _
from charitylink.core.permissions import admin_required
from charitylink.extensions import csrf, db, limiter
from charitylink.mail import unsubscribe as unsub
from charitylink.mail.models import MailStatus, OutboxMail
from charitylink.orgs import queries

bp = Blueprint("mail", __name__)

PER_PAGE = 50

MAIL_STATUS_LABELS = {
    MailStatus.QUEUED: N_("待发送"),
    MailStatus.SENT: N_("已发送"),
    MailStatus.FAILED: N_("发送失败"),
}


@bp.route("/admin/mail")
@admin_required
def outbox() -> ResponseReturnValue:
    status = request.args.get("status", "")
    status = status if status in {s.value for s in MailStatus} else ""
    page, _n = queries.page_args(request.args.get("page"))
    stmt = select(OutboxMail).order_by(OutboxMail.id.desc())
    if status:
        stmt = stmt.where(OutboxMail.status == status)
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    counts = dict(
        db.session.execute(
            select(OutboxMail.status, func.count()).group_by(OutboxMail.status)
        ).all()
    )

    def page_args(number: int) -> str:
        return urlencode({**({"status": status} if status else {}), "page": number})

    return render_template(
        "mail/outbox.html",
        pagination=pagination,
        status=status,
        counts={str(k): v for k, v in counts.items()},
        labels={k.value: _(v) for k, v in MAIL_STATUS_LABELS.items()},
        page_args=page_args,
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
# The POST comes from a mail program (RFC 8058 one-click) without a session or
# a CSRF token: the signed token is what authorises it.
@csrf.exempt
@limiter.limit("30 per minute")
def unsubscribe(token: str) -> ResponseReturnValue:
    from charitylink.notifications.kinds import KINDS

    try:
        user, kind = unsub.read_token(token)
    except unsub.BadUnsubscribeLink as exc:
        return render_template("mail/unsubscribe.html", error=exc.message), 404
    label = _(KINDS[kind].label)
    if request.method == "POST":
        changed = unsub.unsubscribe(user, kind)
        return render_template(
            "mail/unsubscribe.html", done=True, changed=changed, kind_label=label
        )
    return render_template(
        "mail/unsubscribe.html",
        kind_label=label,
        already_off=kind not in unsub.current_kinds(user),
        email=_mask(user.email),
        action=request.path,
    )


def _mask(email: str) -> str:
    """The address the link was sent to, half hidden: the page confirms whose
    setting changes without showing the address to whoever holds the link."""
    name, _sep, domain = (email or "").partition("@")
    shown = name[:2] if len(name) > 2 else name[:1]
    return f"{shown}***@{domain}" if domain else "***"
