from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory
from flask import current_app

from supervise.accounts.auth import hash_password
from supervise.accounts.models import Agency, AgencyKind, User
from supervise.database import now_utc
from supervise.extensions import db
from supervise.findings.models import Finding, FindingStatus, Handling, Share
from supervise.projects.models import Project, ProjectKind
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


class ProjectFactory(BaseFactory):
    class Meta:
        model = Project

    year = 2020
    kind = ProjectKind.AUDIT
    name = factory.Sequence(lambda n: f"2020年度测试项目{n}")
    lead_agency = factory.SubFactory(AgencyFactory)
    created_by_id = factory.LazyAttribute(lambda o: UserFactory(agency=o.lead_agency).id)


class FindingFactory(BaseFactory):
    """An issued finding of an audit bureau about an audited unit, unless told otherwise."""

    class Meta:
        model = Finding

    owner_agency = factory.SubFactory(AgencyFactory, kind=AgencyKind.AUDIT)
    unit = factory.SubFactory(AgencyFactory, kind=AgencyKind.AUDITED_UNIT)
    title = factory.Sequence(lambda n: f"违规发放津补贴问题{n}")
    facts = "2020年该单位违规发放津补贴。"
    category_code = "allowances"
    amount = Decimal("1234.56")
    status = FindingStatus.ISSUED
    created_by = factory.LazyAttribute(lambda o: UserFactory(agency=o.owner_agency))
    issued_at = factory.LazyFunction(now_utc)


class ShareFactory(BaseFactory):
    class Meta:
        model = Share

    finding = factory.SubFactory(FindingFactory)
    agency = factory.SubFactory(AgencyFactory, kind=AgencyKind.INSPECTION)
    handling = Handling.MAY_REFER
    note = "请巡察时关注"
    shared_by = factory.LazyAttribute(lambda o: o.finding.created_by)
