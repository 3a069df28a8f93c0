import factory
from factory.alchemy import SQLAlchemyModelFactory
from flask import current_app

from supervise.accounts.auth import hash_password
from supervise.accounts.models import Agency, AgencyKind, User
from supervise.extensions import db
from tests.conftest import TEST_PASSWORD


def _test_password_hash() -> str:
    cache = current_app.extensions.setdefault("tests", {})
    if "hash" not in cache:
        cache["hash"] = hash_password(TEST_PASSWORD)
    return cache["hash"]


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class AgencyFactory(BaseFactory):
    class Meta:
        model = Agency

    code = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.Sequence(lambda n: f"测试单位{n}")
    kind = AgencyKind.AUDIT
    active = True


class UserFactory(BaseFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    agency = factory.SubFactory(AgencyFactory)
    password_hash = factory.LazyFunction(_test_password_hash)
    must_change_password = False
    active = True

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        obj.set_roles(["staff"] if extracted is None else extracted)
        if create:
            db.session.commit()
