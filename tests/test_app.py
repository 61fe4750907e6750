"""The factory, configuration and the schema."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from charitylink import create_app
from charitylink.config import DEV_SECRET_KEY, ConfigError
from charitylink.extensions import db


def test_home_page_is_served_in_chinese(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert '<html lang="zh-CN">' in resp.get_data(as_text=True)


def test_production_refuses_missing_or_default_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATA_KEY", "x" * 44)
    with pytest.raises(ConfigError):
        create_app({"PRODUCTION": True, "INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ConfigError):
        create_app({"PRODUCTION": True, "INSTANCE_PATH": str(tmp_path)})


def test_production_refuses_missing_data_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.delenv("DATA_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"PRODUCTION": True, "INSTANCE_PATH": str(tmp_path)})


def test_development_generates_keys_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATA_KEY", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert (tmp_path / "data_key").exists()
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()


def test_migrations_match_the_models(app):
    """The migrated schema has every table and column the models declare."""
    insp = inspect(db.engine)
    for table in db.metadata.sorted_tables:
        assert insp.has_table(table.name), table.name
        cols = {c["name"] for c in insp.get_columns(table.name)}
        assert {c.name for c in table.columns} <= cols, table.name


def test_regions_are_loaded_by_migration_fixture(app):
    from charitylink.regions.models import Region

    assert db.session.get(Region, "220102").name == "南关区"
    assert db.session.get(Region, "110108").name == "海淀区"
    assert db.session.get(Region, "620102").name == "城关区"
    assert db.session.get(Region, "630102").name == "城东区"


@pytest.mark.parametrize("table", ["audit_events", "ledger_entries"])
def test_append_only_tables_refuse_update_and_delete(app, create_fund, table):
    from charitylink.core import audit

    fund = create_fund(donations_fen=1000)
    audit.record(None, "test.event", fund)
    db.session.commit()
    for stmt in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(stmt))
        db.session.rollback()


def test_every_label_set_a_template_names_is_in_L(app):
    """Templates read the models' ``*_LABELS`` dicts as ``L.…``; one they name
    that the models do not define would only fail when that page renders."""
    import re
    from collections.abc import Mapping

    from charitylink.config import ROOT

    with app.test_request_context():
        names = {
            m
            for path in (ROOT / "templates").rglob("*.html")
            for m in re.findall(r"\bL\.([A-Z_]+)", path.read_text(encoding="utf-8"))
        }
        context: dict = {}
        app.update_template_context(context)
        assert names, "templates no longer use L"
        for name in sorted(names):
            assert isinstance(getattr(context["L"], name, None), Mapping), name
