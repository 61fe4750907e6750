"""The hello-world baseline for ``bench/load.py``: Flask with nothing else.

Served under the same gunicorn.conf.py as the app, its requests per second are the
yardstick every page of the app is measured against (a ratio, so the figures mean
the same on a faster machine).
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
