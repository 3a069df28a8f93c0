from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField

from supervise.pages import MarksRequired
from supervise.projects.models import ProjectKind


class ProjectForm(MarksRequired, FlaskForm):
    required = ("year", "kind", "name", "units")
    year = StringField(_l("Year"))
    kind = SelectField(_l("Type"), validate_choice=False, choices=ProjectKind.choices())
    name = StringField(_l("Name"))
    units = SelectMultipleField(_l("Audited units covered"), validate_choice=False)
    team = SelectMultipleField(_l("Team"), validate_choice=False)
