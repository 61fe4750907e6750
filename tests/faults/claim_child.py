"""Run in a child process by test_kill_mid_claim.py: claim twice through the
services. The first claim commits; during the second, a test-only SQLAlchemy
event (registered here, never in the app) announces and then sleeps right after
the ledger row is written, so the parent can SIGKILL the process mid-transaction.

argv: database URL, data key, secret key, ready-file path, need id, fund id,
user id.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine


def main() -> None:
    url, data_key, secret, ready, need_id, fund_id, user_id = sys.argv[1:8]
    from charitylink import create_app
    from charitylink.accounts.models import User
    from charitylink.claims import services
    from charitylink.extensions import db
    from charitylink.funds.models import Fund
    from charitylink.needs.models import Need

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "DATA_KEY": data_key,
            "SECRET_KEY": secret,
            "INSTANCE_PATH": str(Path(ready).parent / "child-instance"),
        }
    )
    armed = {"on": False}

    @event.listens_for(Engine, "after_cursor_execute")
    def stall(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if armed["on"] and statement.lstrip().upper().startswith(
            "INSERT INTO LEDGER_ENTRIES"
        ):
            Path(ready).write_text("in the middle of a claim")
            time.sleep(60)  # the parent kills us here

    with app.app_context():
        need = db.session.get(Need, int(need_id))
        fund = db.session.get(Fund, int(fund_id))
        user = db.session.get(User, int(user_id))
        services.claim_need(need, user, fund, 10_000)
        db.session.commit()  # the first claim is kept
        armed["on"] = True
        services.claim_need(need, user, fund, 20_000)
        db.session.commit()  # never reached


if __name__ == "__main__":
    main()
