"""Demo data (SPEC §8): ``flask --app wsgi seed``."""

from __future__ import annotations

from sqlalchemy import func, select

from charitylink.extensions import db


def has_data() -> bool:
    from charitylink.models import Organization, User

    users = db.session.scalar(select(func.count()).select_from(User)) or 0
    orgs = db.session.scalar(select(func.count()).select_from(Organization)) or 0
    return bool(users or orgs)


def load_demo() -> None:
    raise NotImplementedError


def generate_needs(n: int) -> None:
    raise NotImplementedError
