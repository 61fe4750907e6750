"""The private half of a need: encryption, the household key, public coarsening.

Private household data (name, ID number, phone, address, township, notes) lives
only in ``Need.private_ciphertext``; nothing here logs or audits its content.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update

from charitylink.core.crypto import DataCipher, mask_id_number, mask_phone
from charitylink.extensions import db
from charitylink.needs.models import PUBLIC_STATUSES, Need
from charitylink.regions import services as regions

# ``private_ciphertext`` of a purged need (privacy.purge.PURGED).
PURGED = "purged"

# The county is shown only where at least this many public needs share it.
K_THRESHOLD = 5


def cipher() -> DataCipher:
    return DataCipher(current_app.config["DATA_KEY"])


def encrypt_household(household: dict[str, Any]) -> str:
    return cipher().encrypt_json(household)


def decrypt_household(need: Need) -> dict[str, Any]:
    """The household dict of a need (no permission check: callers do that);
    ``{}`` once the purge erased it (charitylink.privacy.purge)."""
    if need.purged_at is not None or need.private_ciphertext == PURGED:
        return {}
    return cipher().decrypt_json(need.private_ciphertext)


def household_key(id_number: str) -> str:
    return cipher().household_key(id_number)


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``: the surname alone, for staff screens."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


def mask_address(address: str) -> str:
    """Keep the first 6 characters (roughly the street), hide the rest."""
    address = (address or "").strip()
    if len(address) <= 6:
        return "*" * len(address)
    return address[:6] + "*" * min(len(address) - 6, 8)


def masked_household(
    household: dict[str, Any], need: Need | None = None
) -> dict[str, Any]:
    """The household with every identifying value masked (for default views).
    With ``need``, ``consent_share_contact`` says whether an active consent
    record exists (privacy/consents.py), not what the entry form said."""
    consent = bool(household.get("consent_share_contact"))
    if need is not None and need.id is not None:
        from charitylink.privacy import consents

        consent = consents.contact_consent_active(need)
    return {
        "name": mask_name(household.get("name", "")),
        "id_number": mask_id_number(household.get("id_number", "")),
        "phone": mask_phone(household.get("phone", ""))
        if household.get("phone")
        else "",
        "address": mask_address(household.get("address", "")),
        "region_code": household.get("region_code") or "",
        "notes": "******" if household.get("notes") else "",
        "consent_share_contact": consent,
    }


def coarse_region_for(county_code: str) -> str:
    """The region shown when a county is too sparse: its prefecture.

    A prefecture without counties (嘉峪关市) already is a city: it stays itself.
    """
    if regions.level_of(county_code) == "prefecture":
        return county_code
    return regions.parent_code(county_code) or county_code


def recompute_public_region(county_code: str) -> str:
    """Set ``public_region_code`` of every need of ``county_code``.

    The county is shown where at least :data:`K_THRESHOLD` public needs share it,
    otherwise its prefecture. Call after any status change that moves a need in
    or out of :data:`PUBLIC_STATUSES` (publish, withdraw, expire). One COUNT and
    one UPDATE; flushes pending changes first so they are counted. Returns the
    code now shown.
    """
    db.session.flush()
    # Only "at least K" matters: count no further than K, so the cost does not
    # grow with the county.
    public = (
        select(Need.id)
        .where(Need.region_code == county_code, Need.status.in_(PUBLIC_STATUSES))
        .limit(K_THRESHOLD)
        .subquery()
    )
    public_count = db.session.scalar(select(func.count()).select_from(public))
    shown = (
        county_code
        if (public_count or 0) >= K_THRESHOLD
        else coarse_region_for(county_code)
    )
    _show(county_code, shown)
    return shown


def _show(county_code: str, shown: str) -> None:
    """Set ``shown`` on the needs of ``county_code`` that show something else.

    "Something else" is written as two ranges (below and above ``shown``,
    which like ``!=`` leaves NULL alone) so the database reads them from
    ix_needs_region_public and finds nothing quickly when nothing differs;
    with ``!=`` it read every need of the county on every approval."""
    db.session.execute(
        update(Need)
        .where(
            Need.region_code == county_code,
            or_(Need.public_region_code < shown, Need.public_region_code > shown),
        )
        .values(public_region_code=shown),
        execution_options={"synchronize_session": "fetch"},
    )


def recompute_all_public_regions() -> int:
    """Recompute ``public_region_code`` for every county that has needs.

    For bulk loads (seed, import); one grouped COUNT, then one UPDATE per
    county. Returns the number of counties visited.
    """
    db.session.flush()
    public = dict(
        db.session.execute(
            select(Need.region_code, func.count())
            .where(Need.status.in_(PUBLIC_STATUSES))
            .group_by(Need.region_code)
        ).all()
    )
    counties = list(db.session.scalars(select(Need.region_code).distinct()))
    for county in counties:
        shown = (
            county
            if public.get(county, 0) >= K_THRESHOLD
            else coarse_region_for(county)
        )
        _show(county, shown)
    return len(counties)
