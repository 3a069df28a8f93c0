"""Referrals under /api/v1."""

from flask_smorest import Blueprint

blueprint = Blueprint("referrals_api", __name__, description="Referrals and their clocks")
