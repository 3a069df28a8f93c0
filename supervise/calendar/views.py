"""Calendar pages: the deadline calculator for users, the year's arrangement for the security
administrator."""

from flask import Blueprint

blueprint = Blueprint("calendar", __name__)
