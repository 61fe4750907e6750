"""The one write path: no view or API endpoint commits.

Every view function of the app runs inside ``one_transaction``: what it did is
committed when it returns and rolled back when anything is raised (the error
handlers then answer: the API's envelope, the pages' error page). Services flush
and never commit (docs/architecture.md), so a request is one transaction.

A page that catches a service's refusal to show it on the form calls
``refused``: it rolls back whatever the service had written before refusing
(so the commit at the end writes nothing) and shows the refusal, the field
messages on their fields and the message as a flash. Commands (``flask …``)
and background jobs keep their own transactions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, flash

from charitylink.core.i18n import _
from charitylink.errors import DomainError
from charitylink.extensions import db


def one_transaction(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = view(*args, **kwargs)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return result

    run.one_transaction = True  # type: ignore[attr-defined]
    return run


def wrap_views(app: Flask) -> None:
    """Put every view of ``app`` (all blueprints, registered before this) into
    ``one_transaction``; static files write nothing."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint == "static" or getattr(view, "one_transaction", False):
            continue
        app.view_functions[endpoint] = one_transaction(view)


def refused(exc: DomainError, form: Any = None, *, flash_message: bool = True) -> None:
    """Roll back and show a service's refusal on a page: each field message on
    the form's field of that name (when there is a form and such a field), and
    the refusal's message as a flash (unless the page shows it next to its
    form itself: ``flash_message=False``). A field that already shows a
    message from the form's own checks (the same submit) keeps that one: one
    problem per field, the plainest first."""
    db.session.rollback()
    if form is not None:
        for name, message in exc.fields.items():
            if name in form and not form[name].errors:
                form[name].errors = [message]
    if flash_message:
        flash(exc.message, "error")


def checked_in_one_round(form: Any, check: Callable[[], object]) -> bool:
    """Check a submitted form in one round: its own validators and, when they
    find a problem, the service's checks too (``check`` runs them and writes
    nothing), so every field to fix is named on this submit, not the next one.
    True when the form's own checks passed (the caller then asks the service
    to act, which checks again); False when the page is to be shown again with
    the messages (the form's own message first on a field, one per field)."""
    if form.validate():
        return True
    try:
        check()
    except DomainError as exc:
        refused(exc, form)
    else:
        # An expired CSRF token alone is said by the form's own banner.
        if any(name != "csrf_token" for name in form.errors):
            flash(_("请检查标出的项目。"), "error")
    return False
