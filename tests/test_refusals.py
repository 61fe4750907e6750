"""One exception family, one handler per face: a refusal no page showed itself
becomes the reason flashed on the page the user came from (a form post) or the
error page with the refusal's status (a page that cannot be shown); in the API
it is the envelope. Never a 500."""

from __future__ import annotations

from charitylink.errors import NotFound, OverClaim


def _routes(app) -> None:
    @app.post("/_probe/claim")
    def probe_claim():
        raise OverClaim("认领金额超出剩余需求。")

    @app.get("/_probe/page")
    def probe_page():
        raise NotFound("需求不存在。")


def test_a_refused_post_goes_back_with_the_reason(app) -> None:
    _routes(app)
    client = app.test_client()
    resp = client.post(
        "/_probe/claim", headers={"Referer": "http://localhost/needs?page=2"}
    )
    assert resp.status_code == 303
    assert resp.headers["Location"] == "http://localhost/needs?page=2"
    with client.session_transaction() as session:
        assert session["_flashes"] == [("error", "认领金额超出剩余需求。")]
    # Another site's page is never where we send someone back to.
    away = client.post("/_probe/claim", headers={"Referer": "https://evil.example/x"})
    assert away.headers["Location"] == "/"


def test_a_page_that_cannot_be_shown_is_the_error_page(app) -> None:
    _routes(app)
    resp = app.test_client().get("/_probe/page")
    assert resp.status_code == 404
    assert "需求不存在。" in resp.get_data(as_text=True)
