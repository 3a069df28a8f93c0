"""One vocabulary: every labelled enum names a label for each member, in both languages."""

import pytest
from flask_babel import force_locale

import supervise.models  # noqa: F401  (every domain enum, imported)
from supervise.calendar.deadlines import ClockStatus
from supervise.findings import workflow as finding_workflow  # noqa: F401
from supervise.rectifications import workflow as rectification_workflow  # noqa: F401
from supervise.referrals import workflow as referral_workflow  # noqa: F401
from supervise.vocabulary import LabelledEnum, chinese


def _enums(base=LabelledEnum):
    for enum in base.__subclasses__():
        yield enum
        yield from _enums(enum)


ENUMS = sorted(_enums(), key=lambda e: f"{e.__module__}.{e.__name__}")


def test_the_domain_speaks_through_labelled_enums():
    assert len(ENUMS) >= 15
    assert ClockStatus in ENUMS


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: f"{e.__module__}.{e.__name__}")
def test_every_member_has_a_label_in_both_languages(app, enum):
    with app.test_request_context():
        with force_locale("en"):
            english = [m.label for m in enum]
        with force_locale("zh_CN"):
            chinese_labels = [m.label for m in enum]
        assert all(label != m.value for label, m in zip(english, enum, strict=True)), english
        # Each Chinese label is a translation, and no two members read alike.
        assert all(zh != en for zh, en in zip(chinese_labels, english, strict=True)), enum
        assert len(set(chinese_labels)) == len(chinese_labels), chinese_labels
        assert [chinese(m) for m in enum] == chinese_labels


def test_members_of_different_enums_with_the_same_value_keep_their_own_words(app):
    from supervise.rectifications.models import Plan, RectificationState

    assert Plan.LONG_TERM == RectificationState.LONG_TERM  # both "long_term"
    with app.test_request_context():
        assert chinese(Plan.LONG_TERM) == "持续整改"
        assert chinese(RectificationState.LONG_TERM) == "长期整改"
