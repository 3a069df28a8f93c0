"""Search (全文检索): Chinese words of two characters and more in the titles and facts of the
findings, referrals and rectification items a user may see, ranked, matches marked; the same by
the page and the API; bad input refused clearly; the index in step with the records.

The persons involved have tests of their own (test_persons.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from supervise.database import now_utc
from supervise.extensions import db
from supervise.findings.models import FindingStatus, Sensitivity
from supervise.rectifications.models import RectificationState
from supervise.referrals.models import ReferralState
from supervise.search import engine
from tests.conftest import page_text
from tests.factories import ShareFactory
from tests.rectifications.factories import finding_for, rectification_in
from tests.referrals.factories import referral_in


def found(caller, q, **args) -> list[tuple[str, str]]:
    """(kind, title) of every result of the API's search, in order."""
    response = caller.get("/search", query_string={"q": q, "per_page": 100, **args})
    assert response.status_code == 200, response.get_json()
    return [(item["kind"], item["title"]) for item in response.get_json()["items"]]


def titles(caller, q) -> list[str]:
    return [title for _kind, title in found(caller, q)]


def search_page(client, q, **form):
    return client.post_form("/search", {"q": q, **form})


def read(response) -> str:
    """What the page says, the marks around the matches taken out."""
    html = response.get_data(as_text=True).replace("<mark>", "").replace("</mark>", "")
    return page_text(type("Page", (), {"get_data": lambda self, as_text: html})())


def signed_in(new_client, user):
    client = new_client()
    client.sign_in(user.username)
    return client


@pytest.fixture
def records(world):
    """One record of each kind with its own words in the title and in the facts."""
    finding = finding_for(world, title="校舍维修工程未批先建问题",
                          facts="2025年区教育局在校舍维修中以拆分合同方式规避招标。")
    referral = referral_in(world, ReferralState.SENT, title="关于食堂采购回扣问题线索的移送",
                           facts="经审计发现食堂负责人收受供应商回扣。")
    item = rectification_in(world, RectificationState.IN_PROGRESS,
                            finding=finding_for(world, title="公务用车超标准配备问题",
                                                facts="区教育局超编制配备公务用车两辆。"))
    db.session.commit()
    return {"finding": finding, "referral": referral, "rectification": item}


# --- what matches ---------------------------------------------------------------------------

CASES = [  # kind, query, where it is
    ("finding", "未批先建", "title"), ("finding", "拆分合同", "facts"),
    ("finding", "校舍", "title"), ("finding", "招标", "facts"),
    ("referral", "食堂采购", "title"), ("referral", "收受供应商", "facts"),
    ("referral", "回扣", "title"), ("referral", "供应", "facts"),
    ("rectification", "超标准配备", "title"), ("rectification", "超编制", "facts"),
    ("rectification", "用车", "title"), ("rectification", "两辆", "facts"),
]


@pytest.mark.parametrize(("kind", "q", "where"), CASES)
def test_words_of_two_and_more_characters_match_in_title_and_facts(world, as_, records, kind,
                                                                   q, where):
    record = records[kind]
    response = as_("audit_staff").get("/search", query_string={"q": q})
    items = [i for i in response.get_json()["items"] if i["id"] == record.public_id]
    assert len(items) == 1, response.get_json()
    item = items[0]
    assert item["kind"] == kind
    assert where in item["matched"]
    assert f"<mark>{q}</mark>" in (item["title_html"] if where == "title"
                                   else item["snippet_html"] or item["title_html"]) or \
        (kind == "referral" and where == "facts" and item["snippet_html"] is None)


def test_the_receiver_finds_a_referral_it_received(world, as_, records):
    assert ("referral", "关于食堂采购回扣问题线索的移送") in found(as_("disc_staff"), "食堂采购")
    assert found(as_("disc_staff"), "未批先建") == []  # the finding is not shared with it


def test_a_query_matches_any_case_and_every_word_must_be_found(world, as_):
    finding_for(world, title="ERP系统采购问题", facts="采购ERP系统未经论证。")
    finding_for(world, title="OA系统采购问题", facts="采购OA系统。")
    db.session.commit()
    staff = as_("audit_staff")
    assert titles(staff, "erp") == ["ERP系统采购问题"]
    assert titles(staff, "Erp系统") == ["ERP系统采购问题"]
    assert titles(staff, "系统 论证") == ["ERP系统采购问题"]
    assert sorted(titles(staff, "系统采购")) == ["ERP系统采购问题", "OA系统采购问题"]
    assert titles(staff, "系统 不存在的词") == []


def test_a_referrals_facts_and_a_sensitive_findings_are_not_quoted(world, as_, records):
    """A list does not show them (opening the record is a recorded reading): the result says
    where it matched."""
    finding_for(world, title="敏感问题", facts="某领导干部违规插手工程招投标。",
                sensitivity=Sensitivity.SENSITIVE)
    db.session.commit()
    for q in ("插手工程", "收受供应商"):
        [item] = as_("audit_staff").get("/search", query_string={"q": q}).get_json()["items"]
        assert item["matched"] == ["facts"] and item["snippet_html"] is None


# --- ranking ----------------------------------------------------------------------------------

def test_title_before_facts_then_newest_first(world, as_):
    now = now_utc()
    finding_for(world, title="一般问题甲", facts="存在往来款项长期挂账。",
                created_at=now - timedelta(days=1))
    finding_for(world, title="往来款项长期挂账问题（旧）", facts="略。",
                created_at=now - timedelta(days=30))
    finding_for(world, title="往来款项长期挂账问题（新）", facts="略。",
                created_at=now - timedelta(days=2))
    finding_for(world, title="一般问题乙", facts="往来款项长期挂账未清理。",
                created_at=now - timedelta(hours=1))
    db.session.commit()
    expected = ["往来款项长期挂账问题（新）", "往来款项长期挂账问题（旧）", "一般问题乙",
                "一般问题甲"]
    assert titles(as_("audit_staff"), "长期挂账") == expected
    assert titles(as_("audit_staff"), "挂账") == expected  # two characters: the same order


def test_more_words_in_the_title_rank_higher(world, as_):
    finding_for(world, title="会议费支出超标准问题", facts="培训费也有问题。")
    finding_for(world, title="培训费列支不规范问题", facts="会议费支出超标准。")
    finding_for(world, title="会议费与培训费问题", facts="略。",
                created_at=now_utc() - timedelta(days=100))
    db.session.commit()
    assert titles(as_("audit_staff"), "会议费 培训费")[0] == "会议费与培训费问题"


# --- highlighting -----------------------------------------------------------------------------

def test_highlighting_escapes_the_record(world, as_, new_client):
    finding_for(world, title='<script>alert("x")</script>违规发放<b>津补贴</b>',
                facts='<img src=x onerror=alert(1)> 违规发放 & "津补贴" <mark>假</mark>')
    db.session.commit()
    [item] = as_("audit_staff").get("/search", query_string={"q": "违规发放"}).get_json()["items"]
    assert item["title_html"] == ('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;'
                                  '<mark>违规发放</mark>&lt;b&gt;津补贴&lt;/b&gt;')
    assert "<img" not in item["snippet_html"] and "&lt;img" in item["snippet_html"]
    assert "&lt;mark&gt;假&lt;/mark&gt;" in item["snippet_html"]
    assert item["snippet_html"].count("<mark>") == 1
    page = search_page(signed_in(new_client, world.audit_staff), "违规发放")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "<mark>违规发放</mark>" in html


def test_overlapping_words_are_marked_once(world, as_):
    finding_for(world, title="违规发放津补贴", facts="略。")
    db.session.commit()
    [item] = as_("audit_staff").get(
        "/search", query_string={"q": "违规发放 发放津"}).get_json()["items"]
    assert item["title_html"] == "<mark>违规发放津</mark>补贴"


# --- who sees what ----------------------------------------------------------------------------

def test_a_finding_is_found_only_where_it_is_shared_and_until_the_share_is_withdrawn(
        world, as_, new_client):
    finding = finding_for(world, title="扶贫资金拨付滞后问题", facts="扶贫资金滞留三个月。")
    draft = finding_for(world, title="扶贫资金草稿问题", status=FindingStatus.DRAFT,
                        issued_at=None)
    db.session.commit()
    q = "扶贫资金"
    assert sorted(titles(as_("audit_staff"), q)) == ["扶贫资金拨付滞后问题", "扶贫资金草稿问题"]
    for outsider in ("insp_staff", "org_staff", "disc_staff", "audit2_staff"):
        assert titles(as_(outsider), q) == [], outsider
    share = ShareFactory(finding=finding, agency=world.inspection, shared_by=world.audit_staff)
    ShareFactory(finding=draft, agency=world.org, shared_by=world.audit_staff)  # not issued
    db.session.commit()
    assert titles(as_("insp_staff"), q) == ["扶贫资金拨付滞后问题"]
    assert titles(as_("org_staff"), q) == []
    client = signed_in(new_client, world.insp_staff)
    assert "扶贫资金拨付滞后问题" in read(search_page(client, q))
    share.withdrawn_at = now_utc()
    share.withdrawn_by = world.audit_staff
    db.session.commit()
    assert titles(as_("insp_staff"), q) == []
    assert "扶贫资金拨付滞后问题" not in read(search_page(client, q))


def test_the_audited_unit_finds_only_its_own_rectification_items(world, as_, records):
    other = rectification_in(world, RectificationState.NOT_STARTED, unit=world.health,
                             finding=finding_for(world, unit=world.health,
                                                 title="公务用车使用登记不全问题", facts="略。"))
    db.session.commit()
    assert found(as_("unit_contact"), "公务用车") == [("rectification", "公务用车超标准配备问题")]
    assert found(as_("unit2_contact"), "公务用车") == [("rectification", other.title)]
    # Never a finding or a referral, not even one about the unit.
    assert found(as_("unit_contact"), "未批先建") == []
    assert found(as_("unit_contact"), "食堂采购") == []
    assert sorted(found(as_("audit_staff"), "公务用车")) == [
        ("finding", "公务用车使用登记不全问题"), ("finding", "公务用车超标准配备问题"),
        ("rectification", "公务用车使用登记不全问题"), ("rectification", "公务用车超标准配备问题")]


def test_a_referral_is_found_by_the_receiver_only_once_sent(world, as_):
    referral_in(world, ReferralState.PENDING_APPROVAL, title="关于待审批线索的移送")
    db.session.commit()
    assert titles(as_("audit_staff"), "待审批线索") == ["关于待审批线索的移送"]
    for other in ("disc_staff", "disc_leader", "insp_staff", "unit_contact"):
        assert titles(as_(other), "待审批线索") == [], other


def test_administrators_have_no_search(world, client):
    from tests.factories import UserFactory

    admin = UserFactory(username="sys.admin", agency=world.org, roles=["sysadmin"])
    db.session.commit()
    from tests.support.api import Caller

    assert Caller(client, admin).get("/search", query_string={"q": "违规"}).status_code == 403


# --- bad input --------------------------------------------------------------------------------

REFUSED = {
    "": "请输入要搜索的内容",
    "   ": "请输入要搜索的内容",
    "违": "每个词至少输入2个字",
    "a": "每个词至少输入2个字",
    "违规 发": "每个词至少输入2个字",
    "长" * 101: "最多输入100个字",
    "一一 二二 三三 四四 五五 六六": "最多输入5个词",
}


@pytest.mark.parametrize("q", list(REFUSED))
def test_a_query_too_short_or_too_long_is_refused_clearly(world, as_, new_client, q):
    response = as_("audit_staff").get("/search", query_string={"q": q})
    assert response.status_code == 422
    assert REFUSED[q] in response.get_json()["errors"]["q"]
    page = search_page(signed_in(new_client, world.audit_staff), q)
    assert page.status_code == 422
    assert REFUSED[q] in page_text(page)


def test_the_api_wants_a_query(world, as_):
    response = as_("audit_staff").get("/search")
    assert response.status_code == 422 and response.get_json()["message"]
    response = as_("audit_staff").get("/search", query_string={"q": "违规", "sort": "x"})
    assert response.status_code == 422 and "sort" in response.get_json()["errors"]


HOSTILE = ['"违规', '违规"', '"违规"', '违规*', '*违规', 'NEAR(违规', 'NEAR(违规 发放)',
           '违规 OR 发放',
           'OR', 'AND', 'NOT', '-违规', '^违规', '违规"发放', '"""', "'; DROP TABLE findings; --",
           '") OR 1=1 --', "title:违规", "{title}: 违规", "facts:违规", "违规 AND", "%%", "__",
           "\\\\", "%违规%", "违_规", "(违规)", "+违规", "违规 NOT 发放", "' OR '1'='1", "rowid",
           "findings_fts", "违规\u3000发放", "ｔｉｔｌｅ：违规"]


@pytest.mark.parametrize("q", HOSTILE)
def test_operators_and_sql_are_searched_for_as_they_are(world, as_, new_client, q):
    finding_for(world, title="违规发放津补贴问题", facts="以加班费名义违规发放。")
    literal = finding_for(world, title=f"含有字面文字{q.strip()}的问题", facts="略。")
    db.session.commit()
    words = q.split()
    response = as_("audit_staff").get("/search", query_string={"q": q, "per_page": 100})
    if any(len(w) < 2 for w in words):
        assert response.status_code == 422 and response.get_json()["message"]
        return
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert literal.public_id in [i["id"] for i in items]
    for item in items:  # only records that contain every word, literally
        assert all(w.casefold() in (item["title"]).casefold() or "facts" in item["matched"]
                   for w in words), item
    page = search_page(signed_in(new_client, world.audit_staff), q)
    assert page.status_code == 200
    assert f"含有字面文字{q.strip()}的问题" in page.get_data(as_text=True).replace(
        "<mark>", "").replace("</mark>", "") or "&" in q or "<" in q or "'" in q or '"' in q
    db.session.expire_all()
    assert db.session.scalar(sa.text("SELECT count(*) FROM findings")) == 2


# --- the page and the API -----------------------------------------------------------------------

def test_the_page_and_the_api_answer_the_same(world, as_, new_client, records):
    for i in range(5):
        finding_for(world, title=f"政府采购程序不规范问题{i}", facts="未履行政府采购程序。")
    db.session.commit()
    api = titles(as_("audit_staff"), "采购")
    page = search_page(signed_in(new_client, world.audit_staff), "采购")
    html = page.get_data(as_text=True).replace("<mark>", "").replace("</mark>", "")
    positions = [html.index(t) for t in api]
    assert positions == sorted(positions) and len(api) == 6
    post = as_("audit_staff").post("/search", json={"q": "采购", "per_page": 100})
    assert [i["title"] for i in post.get_json()["items"]] == api


def test_results_are_paged_with_the_same_number_of_statements(world, as_, new_client,
                                                              count_queries):
    for i in range(45):
        finding_for(world, title=f"预算编制不细化问题{i:02d}", facts="略。",
                    created_at=now_utc() - timedelta(hours=i))
    db.session.commit()
    staff = as_("audit_staff")
    first = staff.get("/search", query_string={"q": "预算编制", "per_page": 20}).get_json()
    assert first["total"] == 45 and first["counts"]["finding"] == 45
    assert [i["title"] for i in first["items"]][:2] == ["预算编制不细化问题00",
                                                         "预算编制不细化问题01"]
    third = staff.get("/search", query_string={"q": "预算编制", "page": 3}).get_json()
    assert [i["title"] for i in third["items"]] == [f"预算编制不细化问题{i}" for i in range(40, 45)]
    client = signed_in(new_client, world.audit_staff)
    second = search_page(client, "预算编制", page="2")
    text = read(second)
    assert "预算编制不细化问题20" in text and "预算编制不细化问题19" not in text
    assert "第 2 页" in text or "第2页" in text
    statements = []
    for q in ("预算编制", "不细化问题4"):
        with count_queries() as counted:
            staff.get("/search", query_string={"q": q})
        statements.append(len(counted))
    assert statements[0] == statements[1] <= 12, statements


def test_many_matches_are_capped_and_say_so(world, as_, monkeypatch):
    monkeypatch.setattr(engine, "CANDIDATES", 3)
    """Of each kind, the newest recorded are ranked."""
    for i in range(5):
        finding_for(world, title=f"合同管理不规范问题{i}", facts="略。",
                    created_at=now_utc() - timedelta(hours=5 - i))
    db.session.commit()
    answer = as_("audit_staff").get("/search", query_string={"q": "合同管理"}).get_json()
    assert answer["capped"] is True and answer["total"] == 3
    assert [i["title"] for i in answer["items"]] == [f"合同管理不规范问题{i}" for i in (4, 3, 2)]
    assert answer["counts"] == {"finding": 3, "referral": 0, "rectification": 0}


def test_a_bad_page_number_is_refused(world, new_client):
    client = signed_in(new_client, world.audit_staff)
    for page in ("0", "abc", "１", "99999999999"):
        assert search_page(client, "违规", page=page).status_code == 422


def test_the_header_box_posts_the_query(world, new_client):
    client = signed_in(new_client, world.audit_staff)
    html = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in html and 'role="search"' in html
    box = html[html.index('class="inline search-box"') - 200:html.index('name="q"')]
    assert 'method="post"' in box


# --- the index in step with the records -------------------------------------------------------

def test_an_edit_is_searchable_in_the_same_transaction(world, as_):
    finding = finding_for(world, title="固定资产账实不符问题", status=FindingStatus.DRAFT,
                          issued_at=None)
    db.session.commit()
    staff = as_("audit_staff")
    response = staff.patch(f"/findings/{finding.public_id}",
                           json={"title": "国有资产出租未履行审批问题", "version": finding.version})
    assert response.status_code == 200, response.get_json()
    assert titles(staff, "出租未履行") == ["国有资产出租未履行审批问题"]
    assert titles(staff, "账实不符") == []
    assert titles(staff, "账实") == []


def test_a_rolled_back_change_leaves_the_search_as_it_was(world, as_):
    finding = finding_for(world, title="非税收入未及时上缴问题", facts="略。")
    db.session.commit()
    finding.title = "会议费支出超标准问题"
    db.session.flush()
    # Inside the transaction the index already follows the change...
    user = world.audit_staff
    inside = engine.search(user, engine.parse("会议费支出"))
    assert [c.id for c in inside.candidates] == [finding.id]
    db.session.rollback()
    # ...and after the rollback it is as it was.
    staff = as_("audit_staff")
    assert titles(staff, "会议费支出") == []
    assert titles(staff, "非税收入") == ["非税收入未及时上缴问题"]


def test_the_index_follows_every_kind_and_a_deleted_row(world, as_):
    item = rectification_in(world, RectificationState.NOT_STARTED,
                            finding=finding_for(world, title="债务风险管控不到位问题"))
    referral = referral_in(world, ReferralState.DRAFT, title="关于债务风险线索的移送")
    db.session.commit()
    staff = as_("audit_staff")
    assert sorted(k for k, _t in found(staff, "债务风险")) == ["finding", "rectification",
                                                                "referral"]
    item.facts = "整改文本已改为内部控制制度不健全。"
    referral.facts = "线索事实改为内部控制制度不健全。"
    db.session.commit()
    assert sorted(k for k, _t in found(staff, "内部控制制度")) == ["rectification", "referral"]
    db.session.delete(referral)
    db.session.commit()
    assert sorted(k for k, _t in found(staff, "内部控制制度")) == ["rectification"]


def test_the_text_index_exists_as_the_migration_made_it(app):
    from supervise.search.schema import FTS_TABLES, TRGM_INDEXES, TRIGGERS

    if db.engine.dialect.name == "sqlite":
        names = set(db.session.scalars(sa.text(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")))
        assert set(FTS_TABLES.values()) | set(TRIGGERS) <= names
        sql = db.session.scalar(sa.text(
            "SELECT sql FROM sqlite_master WHERE name = 'findings_fts'"))
        assert "trigram" in sql
    else:
        indexes = dict(db.session.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")).all())
        for name in TRGM_INDEXES:
            assert "gin_trgm_ops" in indexes[name], name


def test_two_characters_at_a_columns_end_and_a_column_of_two(world, as_):
    """No trigram holds a word at the very end of a text (the index pads each column) nor a
    text of two characters."""
    finding_for(world, title="账户管理问题", facts="存在违规情况")
    finding_for(world, title="审计", facts="Oa")
    db.session.commit()
    staff = as_("audit_staff")
    assert titles(staff, "问题") == ["账户管理问题"]
    assert titles(staff, "情况") == ["账户管理问题"]
    assert titles(staff, "审计") == ["审计"]
    assert titles(staff, "oA") == ["审计"]
    assert titles(staff, "账户 问题") == ["账户管理问题"]
    assert titles(staff, "问题 不在") == []
