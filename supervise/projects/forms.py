from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice

from supervise.projects.models import PROJECT_KIND_LABELS


class ProjectForm(FlaskForm):
    year = StringField(_l("Year"))
    kind = SelectField(_l("Type"), validate_choice=False, choices=[
        SelectChoice(k.value, label) for k, label in PROJECT_KIND_LABELS.items()])
    name = StringField(_l("Name"))
    units = SelectMultipleField(_l("Audited units covered"), validate_choice=False)
    team = SelectMultipleField(_l("Team"), validate_choice=False)
