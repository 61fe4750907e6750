"""The inbox (/inbox), the bell's count, and the notification settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from charitylink.core.i18n import _
from charitylink.core.permissions import Role, signed_in
from charitylink.core.urls import safe_next
from charitylink.errors import DomainError
from charitylink.extensions import db
from charitylink.notifications import services
from charitylink.notifications.kinds import KINDS, render
from charitylink.orgs.queries import page_args

bp = Blueprint("notifications", __name__)

PER_PAGE = 20

# The kinds told to moderators; the rest are told to charity staff. The
# settings page offers a person the kinds of their side (an admin sees all).
MODERATOR_KINDS = frozenset(
    {
        "org_registered",
        "need_submitted",
        "need_approved",
        "need_rejected",
        "claim_created",
        "claim_cancelled",
        "delivery_reported",
        "project_submitted",
        "project_update_overdue",
        "complaint_received",
        "need_review_overdue",
        "followup_overdue",
    }
)
SHARED_KINDS = frozenset({"project_update_overdue", "complaint_resolved"})


def _offered(role: Role) -> list[str]:
    if role == Role.ADMIN:
        return list(KINDS)
    if role == Role.MODERATOR:
        return [k for k in KINDS if k in MODERATOR_KINDS or k in SHARED_KINDS]
    return [k for k in KINDS if k not in MODERATOR_KINDS or k in SHARED_KINDS]


@bp.app_context_processor
def _bell() -> dict[str, Any]:
    # A function: only a signed-in page's header asks for the count.
    return {"unread_notifications": _unread}


def _unread() -> int:
    if not getattr(current_user, "is_authenticated", False):
        return 0
    try:
        return services.unread_count(signed_in())
    except SQLAlchemyError:  # an error page while the database is away
        return 0


def _back() -> str:
    # Back to the list the button was on (same filter and page).
    return safe_next(request.form.get("next"), url_for("notifications.inbox"))


@bp.get("/inbox")
@login_required
def inbox() -> ResponseReturnValue:
    user = signed_in()
    unread_only = request.args.get("unread") == "1"
    page, _n = page_args(request.args.get("page"))
    pagination = db.paginate(
        services.own(user, unread_only=unread_only),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    items = [(row, *render(row.kind, row.params)) for row in pagination.items]
    filters = {"unread": "1"} if unread_only else {}

    def args(p: int) -> str:
        return urlencode({**filters, "page": p})

    return render_template(
        "notifications/inbox.html",
        pagination=pagination,
        items=items,
        unread_only=unread_only,
        unread_total=services.unread_count(user),
        page_args=args,
        here=request.full_path.rstrip("?"),
        labels={k: v.label for k, v in KINDS.items()},
    )


@bp.post("/inbox/<int:notification_id>/open")
@login_required
def open_one(notification_id: int) -> ResponseReturnValue:
    """Opening a notification marks it read and goes where it points (a path
    on this site only; anything else lands back in the inbox). A POST: a GET
    never changes anything here, and a link prefetched or followed by a
    crawler must not mark anything read."""
    try:
        row = services.mark_read(signed_in(), notification_id)
    except DomainError as exc:
        return render_template(
            "errors/error.html", status=404, message=exc.message
        ), 404
    return redirect(safe_next(row.url, url_for("notifications.inbox")), 303)


@bp.post("/inbox/<int:notification_id>/read")
@login_required
def read_one(notification_id: int) -> ResponseReturnValue:
    try:
        services.mark_read(signed_in(), notification_id)
    except DomainError as exc:
        return render_template(
            "errors/error.html", status=404, message=exc.message
        ), 404
    return redirect(_back())


@bp.post("/inbox/read-all")
@login_required
def read_all() -> ResponseReturnValue:
    n = services.mark_all_read(signed_in())
    flash(_("已将 %(n)s 条通知标为已读。", n=n), "success")
    return redirect(_back())


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    user = signed_in()
    offered = _offered(Role(user.role))
    if request.method == "POST":
        ticked = set(request.form.getlist("email"))
        # Kinds not offered on this page keep what they were.
        kept = [k for k in services.email_kinds(user) if k not in offered]
        services.set_email_kinds(user, kept + [k for k in offered if k in ticked])
        flash(_("通知设置已保存。"), "success")
        return redirect(url_for("notifications.settings"))
    return render_template(
        "notifications/settings.html",
        kinds={k: KINDS[k] for k in offered},
        chosen=set(services.email_kinds(user)),
        has_email=bool(user.email),
    )
