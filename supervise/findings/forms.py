"""Forms gather input and carry the CSRF token; the rules live in operations."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from supervise.findings.models import Handling, Sensitivity
from supervise.findings.operations import REQUIRED
from supervise.pages import MarksRequired


class FindingForm(MarksRequired, FlaskForm):
    required = REQUIRED
    unit = SelectField(_l("Audited unit"), validate_choice=False)
    project = SelectField(_l("Project"), validate_choice=False)
    title = StringField(_l("Title"))
    category = SelectField(_l("Category"), validate_choice=False)
    amount = StringField(_l("Amount involved (yuan)"))
    facts = TextAreaField(_l("Facts"))
    legal_basis = TextAreaField(_l("Legal basis"))
    recommendation = TextAreaField(_l("Recommendation"))
    sensitivity = SelectField(_l("Sensitivity"), validate_choice=False, choices=[
        SelectChoice(s.value, label) for s, label in
        ((Sensitivity.NORMAL, _l("Normal")), (Sensitivity.SENSITIVE, _l("Sensitive")))])
    version = HiddenField()

    def data_for_operation(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "unit", "project", "title", "facts", "category", "amount", "legal_basis",
            "recommendation", "sensitivity")}


class ShareForm(MarksRequired, FlaskForm):
    required = ("agency", "handling")
    agency = SelectField(_l("Share with"), validate_choice=False)
    handling = SelectField(_l("Handling"), validate_choice=False, choices=[
        SelectChoice(h.value, label) for h, label in (
            (Handling.READ_ONLY, _l("Read only, do not pass on")),
            (Handling.MAY_REFER, _l("May be cited in a referral")))])
    note = TextAreaField(_l("Note"))


class CommentForm(MarksRequired, FlaskForm):
    required = ("body",)
    body = TextAreaField(_l("Comment"))
    thread = HiddenField()


class LinkForm(MarksRequired, FlaskForm):
    required = ("related",)
    related = SelectField(_l("One of our findings"), validate_choice=False)


class AttachmentForm(FlaskForm):
    file = FileField(_l("Evidence file"))


class ImportForm(FlaskForm):
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"))
