"""Report pages: the moderator dashboard (``/mod/reports``) and the public
transparency page (``/transparency``), each with CSV/XLSX exports of every table."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.core import page_cache
from charitylink.core.formatting import yuan
from charitylink.core.i18n import TranslatedLabels, _
from charitylink.core.permissions import moderator_required, scope_prefix
from charitylink.core.timeutil import today
from charitylink.reports import charts, dashboard, export, filters, transparency
from charitylink.reports.dashboard import LEVEL_LABELS

bp = Blueprint("reports", __name__)


def _scope() -> str | None:
    """Admins see every region (None); a moderator its prefix."""
    return scope_prefix(current_user)


def _num(value: int) -> str:
    return f"{value:,}"


def _dashboard_charts(data: dict) -> dict:
    months = [m["month"] for m in data["months"]]
    return {
        "types": charts.bar_chart(
            [(_(r["name"]), r["requested"]) for r in data["types"]],
            yuan,
            _("按需求类型的需求金额"),
        ),
        "assistance": charts.bar_chart(
            [(_(r["name"]), r["delivered"]) for r in data["assistance"]],
            yuan,
            _("按政府救助类型的慈善交付金额"),
            color=charts.BLUE,
        ),
        "months": charts.month_chart(
            months,
            [
                (_("需求金额"), [m["requested"] for m in data["months"]], charts.RED),
                (_("交付金额"), [m["delivered"] for m in data["months"]], charts.BLUE),
            ],
            yuan,
            _("按月需求与交付金额"),
        ),
        "regions": charts.tile_map(
            [(r["code"], r["name"], r["delivered"]) for r in data["regions"]],
            yuan,
            _("各地区已交付金额"),
        ),
        "orgs": charts.bar_chart(
            [(r["org_name"], r["delivered"]) for r in data["orgs"][:15]],
            yuan,
            _("各机构交付金额"),
        ),
    }


def _dashboard(f: filters.Filters) -> dict:
    return dashboard.build(f, today())


def public_figures() -> dict:
    return transparency.figures()


@bp.get("/mod/reports")
@moderator_required
def mod_reports() -> ResponseReturnValue:
    scope = _scope()
    f, errors = filters.parse(request.args, scope)
    ctx = {
        "f": f,
        "errors": errors,
        "args": request.args,
        "scope": scope,
        "level_labels": TranslatedLabels(LEVEL_LABELS),
        "region_choices": _region_choices(scope),
    }
    if errors:
        return render_template("reports/dashboard.html", data=None, **ctx), 400
    data = _dashboard(f)
    return render_template(
        "reports/dashboard.html",
        data=data,
        charts=_dashboard_charts(data),
        export_args=_export_args(),
        **ctx,
    )


@bp.get("/mod/reports/export/<name>.<any(csv, xlsx):fmt>")
@moderator_required
def mod_export(name: str, fmt: str) -> ResponseReturnValue:
    f, errors = filters.parse(request.args, _scope())
    if errors:
        return render_template(
            "errors/error.html", status=400, message="；".join(errors.values())
        ), 400
    tables = _dashboard(f)["tables"]
    if name not in tables:
        abort(404)
    return export.response(tables[name], fmt, "charitylink-report")


@bp.get("/transparency")
@page_cache.cacheable
def transparency_page() -> ResponseReturnValue:
    fig = public_figures()
    tables = transparency.tables(fig)
    return render_template(
        "reports/transparency.html",
        fig=fig,
        tables=tables,
        charts=_public_charts(fig),
    )


@bp.get("/transparency/export/<name>.<any(csv, xlsx):fmt>")
def transparency_export(name: str, fmt: str) -> ResponseReturnValue:
    tables = transparency.tables(public_figures())
    if name not in tables:
        abort(404)
    return export.response(tables[name], fmt, "charitylink-transparency")


def _shown(row: dict, fam: str, value: int) -> int | None:
    return None if fam in row.get("_hidden", {}) else value


def _public_charts(fig: dict) -> dict:
    dlv = transparency.DLV
    counties = [r for r in fig["by_region"] if r["level"] == "county"]
    return {
        "types": charts.bar_chart(
            [
                (_(r["name"]), _shown(r, dlv, r["delivered"]))
                for r in fig["by_need_type"]
            ],
            yuan,
            _("按需求类型的已交付金额"),
        ),
        "months": charts.month_chart(
            [m["month"] for m in fig["by_month"]],
            [
                (
                    _("交付金额"),
                    [_shown(m, dlv, m["delivered"]) for m in fig["by_month"]],
                    charts.BLUE,
                ),
            ],
            yuan,
            _("按月交付金额"),
        ),
        "regions": charts.tile_map(
            [
                (r["region"], r["name"], _shown(r, dlv, r["delivered"]))
                for r in counties
            ],
            yuan,
            _("各地区已交付金额"),
        ),
    }


def _export_args() -> str:
    from urllib.parse import urlencode

    keep = {
        k: request.args[k]
        for k in ("from", "to", "level", "region")
        if request.args.get(k)
    }
    return ("?" + urlencode(keep)) if keep else ""


def _region_choices(scope: str | None) -> list[tuple[str, str]]:
    from charitylink.regions import services as regions

    levels = ("province", "prefecture", "county")
    return [
        (code, name)
        for code, name in regions.choices(levels)
        if not scope
        or code.startswith(scope)
        or regions.prefix_of(code).startswith(scope)
    ]
