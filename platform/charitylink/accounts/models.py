from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charitylink.core.i18n import N_, _
from charitylink.core.permissions import ORG_ROLES, Role
from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model

__all__ = ["ROLE_LABELS", "ApiToken", "Role", "User"]


ROLE_LABELS = {
    Role.ORG_MEMBER: N_("机构成员"),
    Role.ORG_ADMIN: N_("机构管理员"),
    Role.MODERATOR: N_("民政审核员"),
    Role.ADMIN: N_("平台管理员"),
}


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(String(16))
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), index=True
    )
    # Moderators act on regions whose code starts with this prefix ("22" = all Jilin).
    region_prefix: Mapped[str | None] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout and password change: sessions and tokens carrying an older
    # value are refused, so a copied cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Set when the owner followed the confirmation link sent to this address.
    email_confirmed_at: Mapped[datetime | None]
    # The notification kinds also sent by e-mail; None = each kind's default.
    email_kinds: Mapped[list[str] | None] = mapped_column(JSON)

    org = relationship("Organization", foreign_keys=[org_id], lazy="joined")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_org_staff(self) -> bool:
        return self.role in ORG_ROLES and self.org_id is not None

    @property
    def is_org_admin(self) -> bool:
        return self.role == Role.ORG_ADMIN and self.org_id is not None

    def wants_email(self, kind: str) -> bool:
        if self.email_kinds is not None:
            return kind in self.email_kinds
        from charitylink.notifications.kinds import KINDS

        spec = KINDS.get(kind)
        return bool(spec and spec.email_default)

    @property
    def role_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(ROLE_LABELS.get(Role(self.role), self.role))


class ApiToken(Model):
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user = relationship(User, lazy="joined")
