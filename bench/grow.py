"""Grow a database to a province's size for the benchmarks (issue 13).

Starts from the demo (`seed-demo`: its accounts, their second factors, its story) and adds, through
the product's own models and tables, several years of work: audited units, projects, findings in
every state (a third of the audit bureau's shared with the inspection office), referrals in every
state naming persons involved (sealed as the product seals them), rectification items in every
state, notifications, and the event log, chained through the real log (`verify-events` passes).

    .venv/bin/python bench/grow.py --database sqlite:///bench/data/100k.db --findings 100000
    .venv/bin/python bench/grow.py --database postgresql+psycopg://postgres@127.0.0.1/bench

The database is emptied first (a SQLite file is replaced; a PostgreSQL database dropped and made
again). Referrals and rectification items default to a fifth of the findings each, events to ten
per finding. The same arguments make the same data (a fixed seed), but for the random ids.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from supervise import create_app, demo  # noqa: E402
from supervise.accounts.models import Agency, AgencyKind, User  # noqa: E402
from supervise.calendar import deadlines  # noqa: E402
from supervise.calendar.models import load_calendar  # noqa: E402
from supervise.database import new_public_id, now_utc  # noqa: E402
from supervise.events.log import record_events  # noqa: E402
from supervise.extensions import db  # noqa: E402
from supervise.findings.models import Finding, FindingStatus, Handling, Share  # noqa: E402
from supervise.notifications.models import Kind, Notification  # noqa: E402
from supervise.policy.findings import refresh_access  # noqa: E402
from supervise.projects.models import Project, ProjectKind, project_units  # noqa: E402
from supervise.rectifications.models import Plan, Rectification, RectificationState  # noqa: E402
from supervise.referrals.models import (  # noqa: E402
    PersonInvolved,
    Referral,
    ReferralKind,
    ReferralState,
    dispositions_for,
)

ROOT = Path(__file__).resolve().parents[1]
# The keys of a grown database; bench/run.py serves it with the same.
BENCH_CONFIG = {"SECRET_KEY": "bench-secret-key", "EVENT_LOG_KEY": "bench-event-log-key",
                "DATA_KEY": "42" * 32, "UPLOAD_DIR": str(ROOT / "bench" / "data" / "uploads")}
BATCH = 5000
PASSWORD = "bench-password-2026"  # noqa: S105 - the bench's demo accounts
YEARS = range(2021, 2027)

# Words the texts are made of: enough variety for text search to mean something.
PLACES = ["教育", "卫生健康", "民政", "住房和城乡建设", "交通运输", "农业农村", "水务", "文化旅游",
          "市场监管", "自然资源", "生态环境", "应急管理", "医疗保障", "人力资源和社会保障",
          "商务", "科技", "体育", "统计", "林业", "城市管理"]
TOWNS = ["城关", "东城", "西城", "南关", "北苑", "新桥", "石门", "清河", "龙泉", "白沙", "金山",
         "青山", "柳林", "杏花", "桃源", "凤凰", "双河", "梅岭", "松林", "云溪"]
PROBLEMS = [
    "违规发放津补贴", "超标准配备公务用车", "专项资金未按规定用途使用", "政府采购程序不规范",
    "工程项目未批先建", "虚列支出套取资金", "往来款项长期挂账未清理", "国有资产出租未履行审批",
    "预算编制不细化", "非税收入未及时上缴国库", "项目资金闲置", "违规出借资金",
    "会议费支出超标准", "培训费列支不规范", "大额资金支付未经集体决策", "合同管理不规范",
    "固定资产账实不符", "扶贫资金拨付滞后", "惠民补贴发放不精准", "公款吃喝",
    "工程结算审核不严多付工程款", "违规收取费用", "债务风险管控不到位", "内部控制制度不健全",
]
ACTIONS = ["未经集体研究", "以拆分合同方式规避招标", "以加班费名义", "通过虚开发票",
           "在项目结余资金中", "未履行政府采购程序", "超出预算范围", "在其他科目中列支"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志斌"
POSITIONS = ["局长", "副局长", "科长", "副科长", "主任", "财务负责人", "出纳", "会计", "校长",
             "站长", "所长", "镇长", "副镇长", "党委书记", "项目经理"]


def empty_database(url: str) -> None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(path.name + "*"):
            stale.unlink()
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


class Grower:
    def __init__(self, rng: random.Random, now: datetime):
        self.rng, self.now = rng, now
        self.calendar = load_calendar()
        self.agencies = {a.code: a for a in db.session.scalars(sa.select(Agency))}
        self.users = {u.username: u for u in db.session.scalars(sa.select(User))}
        self.categories = db.session.scalars(sa.text("SELECT code FROM categories")).all()

    # --- helpers ------------------------------------------------------------------------

    def moment(self, year: int) -> datetime:
        start = datetime(year, 1, 1, tzinfo=UTC)
        end = min(datetime(year + 1, 1, 1, tzinfo=UTC), self.now - timedelta(days=1))
        return start + (end - start) * self.rng.random()

    def insert(self, model, rows: list[dict]) -> list[int]:
        """Insert the rows, returning their ids in order."""
        if not rows:
            return []
        table = model.__table__ if hasattr(model, "__table__") else model
        before = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)))
        db.session.execute(sa.insert(table), rows)
        return list(db.session.scalars(sa.select(table.c.id).where(table.c.id > before)
                                       .order_by(table.c.id)))

    def problem(self, unit_name: str) -> tuple[str, str]:
        what = self.rng.choice(PROBLEMS)
        how = self.rng.choice(ACTIONS)
        amount = self.rng.randint(2, 900) * 1000 + self.rng.randint(0, 999)
        year = self.rng.choice(YEARS)
        title = f"{unit_name}{what}问题"
        facts = (f"{year}年{self.rng.randint(1, 12)}月至{year}年{self.rng.randint(1, 12)}月，"
                 f"{unit_name}{how}{what}，涉及金额{amount:,}.00元。"
                 f"经核查，相关凭证{self.rng.randint(3, 60)}份，"
                 f"涉及{self.rng.randint(1, 30)}个项目。")
        return title, facts

    def person(self) -> tuple[str, str]:
        name = self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
        return name, self.rng.choice(POSITIONS)

    # --- what grows -----------------------------------------------------------------------

    def units(self, count: int) -> list[Agency]:
        made = []
        for i in range(count):
            if i < len(PLACES):
                name = f"区{PLACES[i]}局"
            elif i < len(PLACES) + len(TOWNS):
                name = f"{TOWNS[i - len(PLACES)]}街道办事处"
            else:
                name = f"{TOWNS[i % len(TOWNS)]}镇第{i}中心学校"
            made.append(Agency(code=f"bench-unit-{i}", name=name, kind=AgencyKind.AUDITED_UNIT))
        db.session.add_all(made)
        db.session.commit()
        return [*made, self.agencies["unit-education"], self.agencies["unit-street"]]

    def projects(self, units: list[Agency]) -> list[tuple[int, int, Agency, list[Agency]]]:
        """(project id, year, lead agency, units) for each year: audits and inspection
        rounds."""
        audit, inspection = self.agencies["audit"], self.agencies["inspection"]
        staff = {audit.id: self.users["audit.staff"], inspection.id: self.users["inspect.staff"]}
        made = []
        for year in YEARS:
            for lead, kind, n in ((audit, ProjectKind.AUDIT, 40), (inspection,
                                                                   ProjectKind.INSPECTION, 15)):
                for i in range(n):
                    covered = self.rng.sample(units, self.rng.randint(1, 4))
                    what = "预算执行审计" if kind == ProjectKind.AUDIT else "巡察"
                    made.append(({"year": year, "kind": kind, "lead_agency_id": lead.id,
                                  "name": f"{year}年度{covered[0].name}{what}（第{i + 1}批）",
                                  "created_by_id": staff[lead.id].id,
                                  "created_at": self.moment(year)}, lead, covered))
        ids = self.insert(Project, [p for p, _lead, _units in made])
        db.session.execute(sa.insert(project_units), [
            {"project_id": pid, "agency_id": unit.id}
            for pid, (_p, _lead, covered) in zip(ids, made, strict=True) for unit in covered])
        db.session.commit()
        return [(pid, p["year"], lead, covered)
                for pid, (p, lead, covered) in zip(ids, made, strict=True)]

    def findings(self, count: int, projects) -> tuple[list[dict], int]:
        """The findings, and how many shares; returns what the referrals and rectifications
        are made from (issued findings of the audit bureau, with id and unit)."""
        audit, inspection = self.agencies["audit"], self.agencies["inspection"]
        creators = {audit.id: self.users["audit.staff"],
                    inspection.id: self.users["inspect.staff"]}
        leaders = {audit.id: self.users["audit.leader"],
                   inspection.id: self.users["inspect.leader"]}
        share_to = [self.agencies["discipline"], self.agencies["organization"]]
        issued_audit, shares = [], 0
        for start in range(0, count, BATCH):
            rows = []
            for _ in range(start, min(start + BATCH, count)):
                pid, year, lead, covered = self.rng.choice(projects)
                unit = self.rng.choice(covered)
                title, facts = self.problem(unit.name)
                created = self.moment(year)
                status = self.rng.choices(
                    [FindingStatus.ISSUED, FindingStatus.DRAFT, FindingStatus.PENDING_ISSUE],
                    [90, 6, 4])[0]
                issued = status == FindingStatus.ISSUED
                rows.append({
                    "public_id": new_public_id(), "owner_agency_id": lead.id, "project_id": pid,
                    "unit_id": unit.id, "title": title[:200], "facts": facts,
                    "category_code": self.rng.choice(self.categories),
                    "amount": Decimal(self.rng.randint(1000, 5_000_000)) / 100,
                    "legal_basis": "《中华人民共和国预算法》第五十七条",
                    "recommendation": "建议严格执行相关规定，追回违规资金，健全内部控制。",
                    "status": status, "created_by_id": creators[lead.id].id,
                    "created_at": created, "updated_at": created,
                    "submitted_at": created if status != FindingStatus.DRAFT else None,
                    "submitted_by_id": creators[lead.id].id
                    if status != FindingStatus.DRAFT else None,
                    "issued_at": created + timedelta(days=3) if issued else None,
                    "issued_by_id": leaders[lead.id].id if issued else None})
            ids = self.insert(Finding, rows)
            share_rows = []
            for fid, row in zip(ids, rows, strict=True):
                if row["status"] != FindingStatus.ISSUED:
                    continue
                if row["owner_agency_id"] == audit.id:
                    issued_audit.append({"id": fid, **row})
                    # A third of all findings shared with the inspection office (巡审联动: about
                    # half of the audit bureau's issued ones), a few elsewhere.
                    targets = [inspection] if self.rng.random() < 0.53 else []
                    if self.rng.random() < 0.05:
                        targets.append(self.rng.choice(share_to))
                    for agency in targets:
                        share_rows.append({
                            "public_id": new_public_id(), "finding_id": fid,
                            "agency_id": agency.id, "handling": self.rng.choice(list(Handling)),
                            "shared_by_id": creators[audit.id].id,
                            "shared_at": row["issued_at"] + timedelta(days=1)})
            db.session.execute(sa.insert(Share), share_rows)
            refresh_access(db.session.connection(), ids)  # written around the ORM's hook
            shares += len(share_rows)
            db.session.commit()
        return issued_audit, shares

    def referrals(self, count: int) -> int:
        audit, inspection = self.agencies["audit"], self.agencies["inspection"]
        discipline, org = self.agencies["discipline"], self.agencies["organization"]
        senders = {audit.id: self.users["audit.staff"], inspection.id: self.users["inspect.staff"]}
        handlers = {discipline.id: self.users["discipline.staff"], org.id: self.users["org.staff"]}
        states = list(ReferralState)
        weights = {ReferralState.DRAFT: 3, ReferralState.PENDING_APPROVAL: 2,
                   ReferralState.SENT: 4, ReferralState.ACKNOWLEDGED: 5,
                   ReferralState.IN_HANDLING: 25, ReferralState.ANSWERED: 11,
                   ReferralState.CLOSED: 50}
        for start in range(0, count, BATCH // 5):
            batch = []
            for _ in range(start, min(start + BATCH // 5, count)):
                sender = audit if self.rng.random() < 0.7 else inspection
                receiver = discipline if self.rng.random() < 0.8 else org
                state = self.rng.choices(states, [weights.get(s, 0) for s in states])[0]
                year = self.rng.choice(YEARS)
                created = self.moment(year)
                title, facts = self.problem(self.rng.choice(PLACES) + "系统")
                referral = Referral(
                    sender_agency_id=sender.id, receiver_agency_id=receiver.id,
                    kind=self.rng.choice(list(ReferralKind)), state=state,
                    title=f"关于{title}线索的移送"[:200], facts=facts,
                    audit_scope=f"{year}年度预算执行情况", opinion="建议依规依纪依法处理",
                    basis="《中国共产党纪律检查机关监督执纪工作规则》",
                    created_by_id=senders[sender.id].id, created_at=created,
                    persons=[PersonInvolved(name=name, title=title_, position=i)
                             for i, (name, title_) in enumerate(
                                 self.person() for _ in range(self.rng.randint(1, 3)))])
                if state not in (ReferralState.DRAFT, ReferralState.PENDING_APPROVAL):
                    sent = created + timedelta(days=2)
                    referral.sent_at = referral.first_sent_at = sent
                    ack = deadlines.add_working_days(sent, 3, self.calendar).due_at
                    answer = deadlines.add_months(sent, 3, self.calendar).due_at
                    referral.acknowledge_by, referral.answer_by = ack, answer
                    referral.acknowledge_warn_at = deadlines.warning_start(ack, 5, self.calendar)
                    referral.answer_warn_at = deadlines.warning_start(answer, 5, self.calendar)
                    referral.answer_limit = deadlines.add_months(sent, 6, self.calendar).due_at
                    if state != ReferralState.SENT:
                        referral.acknowledged_at = sent + timedelta(days=1)
                    if state in (ReferralState.IN_HANDLING, ReferralState.ANSWERED,
                                 ReferralState.CLOSED):
                        referral.handler_id = handlers[receiver.id].id
                    if state in (ReferralState.ANSWERED, ReferralState.CLOSED):
                        referral.answered_at = sent + timedelta(days=self.rng.randint(10, 80))
                        referral.disposition = self.rng.choice(
                            dispositions_for(receiver.kind))
                        referral.result = "经初步核实，已按规定处理。"
                    if state == ReferralState.CLOSED:
                        referral.closed_at = referral.answered_at + timedelta(days=3)
                batch.append(referral)
            db.session.add_all(batch)
            db.session.commit()
        return count

    def rectifications(self, count: int, issued: list[dict]) -> int:
        states = list(RectificationState)
        chosen = self.rng.sample(issued, min(count, len(issued)))
        for start in range(0, len(chosen), BATCH):
            rows = []
            for finding in chosen[start:start + BATCH]:
                issued_at = finding["issued_at"] + timedelta(days=5)
                days = self.rng.choice((30, 60, 90))
                due = deadlines.end_of_day(deadlines.local_date(issued_at) + timedelta(days=days))
                state = self.rng.choice(states)
                done = state == RectificationState.SIGNED_OFF
                rows.append({
                    "public_id": new_public_id(), "finding_id": finding["id"],
                    "unit_id": finding["unit_id"], "owner_agency_id": finding["owner_agency_id"],
                    "plan": self.rng.choice(list(Plan)), "state": state,
                    "title": finding["title"], "facts": finding["facts"],
                    "legal_basis": finding["legal_basis"],
                    "recommendation": finding["recommendation"], "amount": finding["amount"],
                    "issued_by_id": self.users["audit.staff"].id, "issued_at": issued_at,
                    "due_at": due, "warn_at": deadlines.warning_start(due, 5, self.calendar),
                    "due_days": days,
                    "signed_off_at": due if done else None,
                    "signed_off_by_id": self.users["audit.leader"].id if done else None})
            db.session.execute(sa.insert(Rectification), rows)
            db.session.commit()
        return len(chosen)

    def notifications(self, per_user: int) -> int:
        findings = db.session.execute(sa.select(Finding.id, Finding.public_id).limit(5000)).all()
        rows = []
        for user in self.users.values():
            if user.username.endswith("admin"):
                continue
            for i in range(per_user):
                fid, public = self.rng.choice(findings)
                rows.append({"recipient_id": user.id, "kind": Kind.FINDING_SHARED,
                             "subject_type": "finding", "subject_id": fid,
                             "subject_public_id": public,
                             "created_at": self.now - timedelta(hours=i),
                             "read_at": None if i < 5 else self.now - timedelta(hours=i - 1)})
        db.session.execute(sa.insert(Notification), rows)
        db.session.commit()
        return len(rows)

    def events(self, count: int) -> int:
        """A history of readings and changes by the demo's people, oldest first, through the
        real chain."""
        people = [u for u in self.users.values() if not u.username.startswith("contact")]
        findings = db.session.execute(sa.select(Finding.public_id).limit(20000)).scalars().all()
        referrals = db.session.execute(sa.select(Referral.public_id).limit(5000)).scalars().all()
        kinds = [("finding.update", "findings", findings, {"fields": ["facts"]}),
                 ("referral.read", "referrals", referrals, {}),
                 ("attachment.download", "findings", findings, {}),
                 ("auth.sign_in", "users", None, {}),
                 ("finding.comment", "findings", findings, {"comment": 1})]
        start = datetime(YEARS[0], 1, 1, tzinfo=UTC)
        step = (self.now - start - timedelta(days=2)) / max(count, 1)
        made = 0
        while made < count:
            batch = []
            for i in range(made, min(made + BATCH, count)):
                actor = self.rng.choice(people)
                action, object_type, ids, details = self.rng.choices(kinds, [4, 2, 2, 3, 1])[0]
                batch.append({"action": action, "actor": actor,
                              "ip": f"10.{self.rng.randint(0, 20)}.{self.rng.randint(0, 255)}."
                                    f"{self.rng.randint(1, 254)}",
                              "object_type": object_type,
                              "object_id": self.rng.choice(ids) if ids else actor.username,
                              "details": details, "occurred_at": start + step * i})
            made += record_events(batch)
            db.session.commit()
        return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True,
                        help="sqlite:///PATH or a PostgreSQL URL: emptied first")
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--referrals", type=int)
    parser.add_argument("--rectifications", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--units", type=int, default=200)
    args = parser.parse_args()
    referrals = args.referrals if args.referrals is not None else args.findings // 5
    items = args.rectifications if args.rectifications is not None else args.findings // 5
    events = args.events if args.events is not None else args.findings * 10

    empty_database(args.database)
    app = create_app({**BENCH_CONFIG, "SQLALCHEMY_DATABASE_URI": args.database,
                      "SMTP_HOST": ""})
    with app.app_context():
        started = time.perf_counter()
        upgrade(directory=str(ROOT / "migrations"))
        demo.seed_accounts(PASSWORD)
        demo.seed_findings()
        demo.seed_referrals()
        demo.seed_rectifications()
        demo.publish_announcement()
        demo.enrol_second_factors()
        db.session.commit()
        db.session().expire_on_commit = False  # the people and agencies are read throughout
        grower = Grower(random.Random(2026), now_utc())
        units = grower.units(args.units)
        projects = grower.projects(units)
        issued, shares = grower.findings(args.findings, projects)
        print(f"{args.findings} findings ({shares} shares) after "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        grower.referrals(referrals)
        print(f"{referrals} referrals after {time.perf_counter() - started:.0f} s", flush=True)
        made = grower.rectifications(items, issued)
        notes = grower.notifications(200)
        print(f"{made} rectification items, {notes} notifications after "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        grower.events(events)
        db.session.execute(sa.text("ANALYZE"))  # statistics as a live database has them
        db.session.commit()
        print(f"{events} events; {sa.make_url(args.database).get_backend_name()} database grown "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
