"""A bare Flask endpoint, served beside the application by bench/run.py: what 2 gunicorn
workers answer on this machine when a request does nothing, the yardstick of the load column."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def bare() -> str:
    return "ok"
