from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from supervise.accounts.models import AgencyKind, Role


def required():
    return DataRequired(message=_l("This field is required."))


class SignInForm(FlaskForm):
    username = StringField(_l("User name"), validators=[required(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[required(), Length(max=256)])


class CodeForm(FlaskForm):
    code = StringField(_l("Verification code"), validators=[required(), Length(max=40)],
                       description=_l("The six digits your authenticator app shows now, or "
                                      "one of your recovery codes."))


class EnrolForm(FlaskForm):
    code = StringField(_l("First code"), validators=[required(), Length(max=40)],
                       description=_l("The six digits the app shows after adding the account."))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[required()])
    new_password = PasswordField(_l("New password"), validators=[required()])
    confirm_password = PasswordField(_l("Repeat the new password"), validators=[required()])


class ActionForm(FlaskForm):
    """A form that is only a button: it carries the CSRF token."""


class LanguageForm(FlaskForm):
    locale = SelectField(choices=[SelectChoice("zh_CN", "中文"), SelectChoice("en", "English")])


class AgencyForm(FlaskForm):
    code = StringField(_l("Code"), validators=[required(), Length(max=40)])
    name = StringField(_l("Name"), validators=[required(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=AgencyKind.choices())


class AgencyEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[required(), Length(max=100)])


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[required(), Length(max=64)])
    display_name = StringField(_l("Display name"), validators=[required(), Length(max=100)])
    agency = SelectField(_l("Agency"), coerce=int)


class UserEditForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[required(), Length(max=100)])
    agency = SelectField(_l("Agency"), coerce=int)
    email = StringField(_l("Email address"), validators=[Length(max=254)],
                        description=_l("Optional: notifications are also sent here."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RolesForm(FlaskForm):
    # An unknown role is refused by operations.set_roles, in the user's language.
    roles = MultiCheckboxField(_l("Roles"), choices=Role.choices(), validate_choice=False)
