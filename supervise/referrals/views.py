"""Referral pages."""

from flask import Blueprint

blueprint = Blueprint("referrals", __name__)
