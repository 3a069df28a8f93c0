"""The deadline calculator under /api/v1."""

from flask_smorest import Blueprint

blueprint = Blueprint("calendar_api", __name__, description="Working days and deadlines")
