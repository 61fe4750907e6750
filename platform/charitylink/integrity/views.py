"""The moderators' integrity page (/mod/integrity): the signals of their
region with their evidence, and a form to dismiss each with a reason."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from charitylink.core.i18n import _
from charitylink.core.permissions import moderator_required, signed_in
from charitylink.core.transaction import refused
from charitylink.errors import DomainError
from charitylink.integrity import signals
from charitylink.integrity.signals import KIND_LABELS, KINDS

bp = Blueprint("integrity", __name__)


@bp.get("/mod/integrity")
@moderator_required
def index() -> ResponseReturnValue:
    kind = request.args.get("kind", "")
    if kind not in KINDS:
        kind = ""
    show_dismissed = request.args.get("dismissed") == "1"
    found = signals.compute(
        signed_in(), (kind,) if kind else KINDS, include_dismissed=show_dismissed
    )
    return render_template(
        "integrity/index.html",
        signals=found,
        kind=kind,
        kinds=[(k, _(KIND_LABELS[k])) for k in KINDS],
        show_dismissed=show_dismissed,
    )


@bp.post("/mod/integrity/dismiss")
@moderator_required
def dismiss() -> ResponseReturnValue:
    form = request.form
    try:
        signals.dismiss(
            signed_in(),
            (form.get("signal_id") or "")[:140],
            form.get("reason"),
            form.get("fingerprint") or None,
        )
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("已排除这条提示；出现新的证据时它会重新出现。"), "success")
    return redirect(url_for(".index", kind=form.get("kind") or None))
