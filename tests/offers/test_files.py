"""Offers to and from CSV/XLSX: export, import all-or-nothing."""

from __future__ import annotations

import io

from charitylink.extensions import db
from charitylink.offers.models import Offer

HEADER = "供给名称,类别,说明,需求类型,服务地区代码,计量单位,每月可提供数量,每单位估值(元),开始日期,结束日期\n"


def _upload(client, text: str, name: str = "offers.csv"):
    return client.post(
        "/org/offers/import",
        data={"file": (io.BytesIO(text.encode("utf-8-sig")), name)},
        content_type="multipart/form-data",
    )


def test_import_all_or_nothing_then_export(world, client, login_as, create_offer):
    login_as(world["admin_a"])
    bad = _upload(
        client,
        HEADER
        + "助餐,服务,午餐,养老服务、基本生活,2201,份,300,15,2026-01-01,\n"
        + "理发,服务,上门理发,养老服务,2201,箱,20,abc,,\n",
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "第3行" in page
    assert db.session.scalar(db.select(db.func.count(Offer.id))) == 0
    good = _upload(
        client,
        HEADER
        + "助餐,服务,午餐,养老服务、基本生活,2201,份,300,15,2026-01-01,\n"
        + "陪伴就医,志愿服务,,医疗,22,小时,40,30,,\n",
    )
    assert good.status_code == 302
    offers = db.session.scalars(db.select(Offer).order_by(Offer.id)).all()
    assert [(o.kind, o.need_types, o.unit_value_fen) for o in offers] == [
        ("service", ["elderly_care", "living"], 1500),
        ("volunteer", ["medical"], 3000),
    ]
    csv = client.get("/org/offers/export.csv")
    assert csv.status_code == 200
    text = csv.get_data().decode("utf-8-sig")
    assert "陪伴就医" in text and "志愿服务" in text
    xlsx = client.get("/org/offers/export.xlsx")
    assert xlsx.data[:2] == b"PK"
    # another org's export holds none of org A's offers
    login_as(world["admin_b"])
    assert "陪伴就医" not in client.get("/org/offers/export.csv").get_data(as_text=True)
