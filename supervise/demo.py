"""Demo data for `seed-demo`: the district's agencies and accounts, two audit projects and an
inspection round with findings, evidence and shares. Built through the real operations, so the
event log tells its story too. Running it again changes nothing."""

from __future__ import annotations

import io
import struct
import zlib

import pyotp
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from supervise.accounts import twofactor
from supervise.accounts.auth import hash_password, verify_password
from supervise.accounts.models import Agency, AgencyKind, User
from supervise.database import now_utc
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.findings import operations as findings
from supervise.findings.models import Finding
from supervise.notifications.models import Notification
from supervise.projects import operations as projects
from supervise.projects.models import Project

DEMO_AGENCIES = [
    ("audit", "区审计局", "audit"),
    ("inspection", "区委巡察办", "inspection"),
    ("discipline", "区纪委监委", "discipline"),
    ("organization", "区委组织部", "organization"),
    ("data-bureau", "区数据局", "department"),
    ("unit-education", "区教育局", "audited_unit"),
    ("unit-street", "某街道办事处", "audited_unit"),
]

# Addresses at a domain reserved for examples (RFC 2606): mail to them never reaches anyone.
DEMO_MAIL_DOMAIN = "supervise.example"

DEMO_USERS = [
    ("audit.staff", "王审计", "audit", ["staff"]),
    ("audit.leader", "李局长", "audit", ["leader"]),
    ("inspect.staff", "赵巡察", "inspection", ["staff"]),
    ("inspect.leader", "钱主任", "inspection", ["leader"]),
    ("discipline.staff", "孙监察", "discipline", ["staff"]),
    ("discipline.leader", "周书记", "discipline", ["leader"]),
    ("org.staff", "吴干部", "organization", ["staff"]),
    ("unit.contact", "郑联络员", "unit-education", ["staff"]),
    ("street.contact", "冯联络员", "unit-street", ["staff"]),
    ("sysadmin", "系统管理员", "data-bureau", ["sysadmin"]),
    ("secadmin", "安全管理员", "data-bureau", ["secadmin"]),
    ("auditadmin", "审计管理员", "data-bureau", ["auditadmin"]),
]


def seed_accounts(password: str) -> dict[str, Agency]:
    agencies = {}
    for code, name, kind in DEMO_AGENCIES:
        agency = db.session.scalar(sa.select(Agency).where(Agency.code == code))
        if agency is None:
            agency = Agency(code=code, name=name, kind=AgencyKind(kind))
            db.session.add(agency)
            db.session.flush()
            record_event("agency.create", obj=agency, details={"code": code, "seed": True})
        agencies[code] = agency
    for username, display_name, agency_code, roles in DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            user = User(username=username, display_name=display_name,
                        agency=agencies[agency_code], password_hash=hash_password(password),
                        must_change_password=False, email=f"{username}@{DEMO_MAIL_DOMAIN}")
            user.set_roles(roles)
            db.session.add(user)
            db.session.flush()
            record_event("user.create", obj=user, details={"username": username, "seed": True})
        elif not verify_password(user, password):
            user.password_hash = hash_password(password)
            user.must_change_password = False
            record_event("user.reset_password", obj=user, details={"seed": True})
    return agencies


def enrol_second_factors() -> dict[str, str]:
    """Enrol every demo account that needs a second factor (the administrators, the discipline
    commission), so that the demo is two commands away; the secrets by user name, to add to an
    authenticator app (or read with `flask demo-otp`)."""
    secrets_by_name = {}
    for username, *_rest in DEMO_USERS:
        user = _user(username)
        if not twofactor.required(user):
            continue
        if not twofactor.enrolled(user):
            user.otp_secret = pyotp.random_base32()
            user.otp_enrolled_at = now_utc()
            record_event("user.enrol_second_factor", obj=user, details={"seed": True})
        secrets_by_name[username] = user.otp_secret
    return secrets_by_name


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _pdf(text: str) -> bytes:
    """A one-page PDF saying `text` (ASCII), small but valid."""
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def _png(width: int = 120, height: int = 60, rgb=(166, 27, 27)) -> bytes:
    """A plain-coloured PNG image, standing in for a photographed voucher."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


DEMO_PROJECTS = [
    # (lead username, year, kind, name, units)
    ("audit.staff", 2020, "audit", "2020年度区教育局部门预算执行审计", ["unit-education"]),
    ("audit.staff", 2020, "audit", "2020年疫情防控资金和捐赠款物专项审计",
     ["unit-street", "unit-education"]),
    ("inspect.staff", 2021, "inspection", "区委第一轮巡察（区教育局）", ["unit-education"]),
]

# (project index, unit, title, category, amount, facts, basis, recommendation, evidence,
#  shares: [(agency, handling, note, withdrawn)], issued)
DEMO_FINDINGS = [
    (0, "unit-education", "区教育局违规发放津补贴", "allowances", "356800.00",
     "2020年，区教育局以“加班补助”“考核奖励”名义向机关工作人员发放津补贴35.68万元，"
     "未经区人力资源和社会保障局、区财政局批准。",
     "《关于规范公务员津贴补贴有关问题的通知》；《中华人民共和国预算法》第九十三条。",
     "立即停止违规发放，清退已发放款项，追究相关人员责任。", "pdf",
     [("inspection", "may_refer", "请巡察组在第一轮巡察中重点关注。", False)], True),
    (0, "unit-education", "区教育局超标准列支公务接待费", "three_public", "48650.00",
     "抽查2020年公务接待报销凭证，发现12批次接待超过规定标准，且未附接待公函。",
     "《党政机关国内公务接待管理规定》第九条。", "严格执行公务接待标准，完善审批手续。", None,
     [("inspection", "read_only", "供巡察参考，请勿转送。", False)], True),
    (0, "unit-education", "年初预算编制不细化，代编预算比例过高", "budget", "12500000.00",
     "2020年年初预算中代编预算1250万元，占部门预算总额的18.6%，未细化到具体项目。",
     "《中华人民共和国预算法》第三十二条、第四十六条。", "提高预算编制精细化水平，压减代编预算。",
     None, [], True),
    (0, "unit-education", "政府采购项目未按规定公开招标", "procurement", "2380000.00",
     "区教育局2020年采购教学设备238万元，超过公开招标数额标准，但采用竞争性谈判方式，"
     "未经财政部门批准。",
     "《中华人民共和国政府采购法》第二十七条；《中华人民共和国政府采购法实施条例》第二十三条。",
     "规范政府采购程序，对相关责任人进行问责。", "png",
     [("inspection", "may_refer", "", False)], True),
    (0, "unit-education", "下属学校国有资产出租未经审批", "state_assets", "615000.00",
     "区教育局下属2所学校将闲置校舍出租，租金收入61.5万元，出租事项未报区财政局审批。",
     "《行政事业性国有资产管理条例》第二十五条。", "补办审批手续，租金收入及时上缴。", None, [],
     False),
    (0, "unit-education", "学校食堂大宗食材采购未执行询价程序", "procurement", "486000.00",
     "区教育局下属3所学校2020年食堂大宗食材采购48.6万元，均由后勤人员直接向固定供应商订货，"
     "未执行询价比价程序。",
     "《政府采购非招标采购方式管理办法》第四十五条。", "建立食材采购询价比价制度。", None, [],
     "submitted"),
    (1, "unit-street", "疫情防控物资采购价格明显偏高", "procurement", "873420.50",
     "某街道办事处2020年2月采购口罩、防护服等防疫物资，单价高于同期市场价30%以上，"
     "涉及金额87.34万元。",
     "《中华人民共和国政府采购法》第十七条。", "核实采购价格，追回多付款项。", "pdf",
     [("inspection", "may_refer", "请核查是否存在利益输送。", False)], True),
    (1, "unit-street", "社会捐赠款物未及时入账", "budget", "1260000.00",
     "某街道办事处接收社会捐赠款126万元，其中80万元在收到3个月后才入账，捐赠物资未建立台账。",
     "《中华人民共和国公益事业捐赠法》第十七条。", "建立捐赠款物台账，及时入账并公开。", None,
     [("inspection", "read_only", "", True)], True),
    (1, "unit-street", "疫情防控补助资金发放不精准", "allowances", "95300.00",
     "抽查发现，某街道办事处向不符合条件的23人发放疫情防控一线人员补助9.53万元。",
     "《关于落实防控一线人员临时性工作补助的通知》。", "清退违规发放资金，完善发放审核机制。", None,
     [], True),
    (0, "unit-education", "校舍维修工程未办理竣工决算", "construction", "4120000.00",
     "区教育局2019年实施的校舍维修工程已交付使用，但至审计时仍未办理竣工财务决算，"
     "涉及投资412万元。",
     "《基本建设财务规则》第三十九条。", "尽快办理竣工决算，核实工程造价。", None,
     [("discipline", "read_only", "通报备查。", False)], True),
    (2, "unit-education", "区教育局党组落实全面从严治党主体责任不到位", "other", None,
     "巡察发现，区教育局党组对审计指出的违规发放津补贴问题未及时研究整改，"
     "主体责任落实存在薄弱环节。",
     "《中国共产党巡视工作条例》。", "压实主体责任，建立问题整改台账。", None,
     [("audit", "read_only", "巡察发现与审计问题相互印证，供审计局参考。", False)], True),
]


def seed_findings() -> None:
    if db.session.scalar(sa.select(Project.id).where(Project.name == DEMO_PROJECTS[0][3])):
        return  # already there
    made_projects = []
    for username, year, kind, name, units in DEMO_PROJECTS:
        made_projects.append(projects.create_project(
            _user(username), year=year, kind=kind, name=name, unit_codes=units))
    made: list[Finding] = []
    for (project, unit, title, category, amount, facts, basis, recommendation, evidence,
         shares, issued) in DEMO_FINDINGS:
        lead = made_projects[project].lead_agency.code
        staff, leader = ("audit.staff", "audit.leader") if lead == "audit" else (
            "inspect.staff", "inspect.leader")
        finding = findings.create_finding(_user(staff), {
            "unit": unit, "project": made_projects[project].public_id, "title": title,
            "facts": facts, "category": category, "amount": amount, "legal_basis": basis,
            "recommendation": recommendation})
        if evidence == "pdf":
            findings.add_attachment(_user(staff), finding, FileStorage(
                io.BytesIO(_pdf(f"Audit evidence: working paper {len(made) + 1}")),
                filename="审计工作底稿.pdf"))
        elif evidence == "png":
            findings.add_attachment(_user(staff), finding, FileStorage(
                io.BytesIO(_png()), filename="记账凭证照片.png"))
        if issued:  # True: submitted by its drafter and issued by the leader
            findings.submit_finding(_user(staff), finding)
        if issued is True:
            findings.issue_finding(_user(leader), finding)
        for agency, handling, note, withdrawn in shares:
            share = findings.share_finding(_user(staff), finding, agency, note, handling)
            if withdrawn:
                findings.withdraw_share(_user(staff), share)
        made.append(finding)
    # The inspection office links its own finding to the audit finding it confirms.
    findings.link_finding(_user("inspect.staff"), made[0], made[-1].public_id)


# --- referrals ------------------------------------------------------------------------------

REFERRAL_BASIS = "《审计机关移送处理违法违纪案件暂行规定》；《中华人民共和国审计法》第五十二条。"
PERSONS = [{"name": "张建国", "position": "区教育局原党组书记、局长"},
           {"name": "李明华", "position": "区教育局计划财务科科长"}]

# (sender staff, sender leader, receiver code, kind, finding title, title, persons, opinion,
#  steps: [(action, days ago, fields)])
DEMO_REFERRALS = [
    ("audit.staff", "audit.leader", "discipline", "clue", "区教育局违规发放津补贴",
     "关于区教育局违规发放津补贴问题线索的移送", PERSONS,
     "有关人员涉嫌违反中央八项规定精神，建议依规依纪依法处理。", []),
    ("audit.staff", "audit.leader", "discipline", "clue", "政府采购项目未按规定公开招标",
     "关于区教育局政府采购项目规避公开招标问题线索的移送",
     [{"name": "王志强", "position": "区教育局装备中心主任"}],
     "涉嫌规避公开招标，可能存在利益输送，建议核查。", [("submit", 1, {})]),
    ("audit.staff", "audit.leader", "discipline", "clue", "疫情防控物资采购价格明显偏高",
     "关于某街道办事处疫情防控物资采购价格偏高问题线索的移送",
     [{"name": "赵卫东", "position": "某街道办事处副主任"}],
     "采购价格明显偏离市场价，涉嫌利益输送，建议立案审查。",
     [("submit", 12, {}), ("approve", 11, {}),
      ("chase", 5, {"comment": "该问题线索已超过签收期限，请尽快签收。"}),
      ("chase", 2, {"comment": "请于本周内签收并反馈办理安排。"})]),
    ("audit.staff", "audit.leader", "organization", "handling", "区教育局超标准列支公务接待费",
     "关于区教育局领导班子超标准接待问题的移送处理", PERSONS[:1],
     "建议在干部考核中运用审计结果。",
     [("submit", 20, {}), ("approve", 19, {}), ("acknowledge", 18, {})]),
    ("audit.staff", "audit.leader", "discipline", "clue", "社会捐赠款物未及时入账",
     "关于某街道办事处社会捐赠款物管理问题线索的移送",
     [{"name": "孙丽", "position": "某街道办事处财政所所长"}],
     "捐赠款长期未入账，去向需进一步核实。",
     [("submit", 85, {}), ("approve", 84, {}), ("acknowledge", 83, {}),
      ("assign", 80, {"handler": "discipline.staff"}),
      ("note", 60, {"comment": "已调取街道财政所2020年账簿，正在核对捐赠台账。"}),
      ("request-extension", 10, {"reason": "涉及资金流向需跨部门核查，申请延期。",
                                 "until_months": 5}),
      ("decide-extension", 8, {"decision": "approve", "comment": "同意延期。"})]),
    ("audit.staff", "audit.leader", "discipline", "clue", "疫情防控补助资金发放不精准",
     "关于某街道办事处疫情防控补助发放不精准问题线索的移送",
     [{"name": "周海燕", "position": "某街道办事处社区事务办主任"}],
     "建议核实是否存在优亲厚友问题。",
     [("submit", 70, {}), ("approve", 69, {}), ("acknowledge", 68, {}),
      ("assign", 66, {"handler": "discipline.staff"}),
      ("answer", 20, {"disposition": "preliminary_verification",
                      "result": "经初步核实，反映问题部分属实，已对相关责任人进行谈话提醒，"
                                "责令清退违规发放资金9.53万元。"})]),
    ("inspect.staff", "inspect.leader", "discipline", "clue",
     "区教育局党组落实全面从严治党主体责任不到位",
     "关于区教育局党组主体责任落实不到位问题线索的移送", PERSONS[:1],
     "建议对主要负责人进行谈话函询。",
     [("submit", 120, {}), ("approve", 119, {}), ("acknowledge", 118, {}),
      ("answer", 60, {"disposition": "talk_or_inquiry",
                      "result": "已对相关负责人进行函询，本人如实说明情况并作出检讨。"}),
      ("close", 55, {"comment": "反馈充分，予以办结。"})]),
    ("audit.staff", "audit.leader", "discipline", "clue", "年初预算编制不细化，代编预算比例过高",
     "关于区教育局预算编制问题的移送", [],
     "建议予以关注。",
     [("submit", 30, {}), ("approve", 29, {}),
      ("return", 27, {"reason": "该问题属于预算管理问题，不属于纪检监察机关受理范围，"
                                "建议移送区财政局处理。"})]),
    ("audit.staff", "audit.leader", "organization", "assistance", "校舍维修工程未办理竣工决算",
     "关于提请协助核实区教育局校舍维修工程负责人任职情况的函", [],
     "请协助提供相关负责人任职经历。",
     [("submit", 9, {}), ("approve", 8, {}),
      ("withdraw", 7, {"comment": "所需资料已另行取得，撤回本函。"})]),
    ("audit.staff", "audit.leader", "discipline", "clue", "校舍维修工程未办理竣工决算",
     "关于区教育局校舍维修工程管理问题线索的移送",
     [{"name": "吴国平", "position": "区教育局基建科科长"}],
     "工程长期未决算，可能存在虚报工程量问题。",
     [("submit", 100, {}), ("approve", 99, {}), ("acknowledge", 97, {}),
      ("assign", 95, {"handler": "discipline.staff"}),
      ("chase", 3, {"comment": "办理期限已过，请尽快反馈处理结果。"})]),
]


def _backdate_notices(notifications, when) -> None:
    for notification in notifications:
        notification.created_at = when


def _backdate(referral, entry, action: str, when) -> None:
    """Place a demo step in the past, so that clocks show every status."""
    from supervise.referrals import operations as referrals

    entry.at = when
    if action == "approve":
        referral.sent_at = referral.first_sent_at = when
        referrals.start_clocks(referral, when)
    elif action == "acknowledge":
        referral.acknowledged_at = when
    elif action == "answer":
        referral.answered_at = when
    elif action == "close":
        referral.closed_at = when
    elif action == "request-extension":
        referral.extensions[-1].requested_at = when
    elif action == "decide-extension":
        referral.extensions[-1].decided_at = when


def seed_referrals() -> None:
    from datetime import timedelta

    from supervise.calendar.deadlines import add_months_to_date, local_date
    from supervise.database import now_utc
    from supervise.referrals import operations as referrals
    from supervise.referrals.models import Referral

    if db.session.scalar(sa.select(Referral.id).where(Referral.title == DEMO_REFERRALS[0][5])):
        return
    now = now_utc()
    for (staff, leader, receiver, kind, finding_title, title, persons, opinion,
         steps) in DEMO_REFERRALS:
        finding = db.session.scalar(sa.select(Finding).where(Finding.title == finding_title))
        referral = referrals.create_referral(_user(staff), {
            "receiver": receiver, "kind": kind, "title": title,
            "audit_scope": f"{finding.project.name}，审计期间为2020年1月1日至2020年12月31日。"
            if finding.project else "",
            "facts": finding.facts, "classification": finding.legal_basis,
            "opinion": opinion, "basis": REFERRAL_BASIS, "persons_involved": persons,
            "findings": [finding.public_id]})
        receiver_staff = {"discipline": ("discipline.staff", "discipline.leader"),
                          "organization": ("org.staff", "org.staff")}[receiver]
        for action, days_ago, fields in steps:
            actor = {
                "submit": staff, "approve": leader, "chase": staff, "close": staff,
                "decide-extension": staff, "withdraw": staff, "acknowledge": receiver_staff[0],
                "assign": receiver_staff[1], "note": receiver_staff[0],
                "answer": receiver_staff[0], "return": receiver_staff[0],
                "request-extension": receiver_staff[0],
            }[action]
            data = {k: v for k, v in fields.items() if k != "until_months"}
            if "until_months" in fields:
                data["until"] = add_months_to_date(local_date(referral.sent_at),
                                                   fields["until_months"]).isoformat()
            if action == "decide-extension":
                data["extension"] = referral.extensions[-1].public_id
            step = referrals.take_action(_user(actor), referral, action,
                                         referrals.ActionInput(**data))
            _backdate(referral, step.row, action, now - timedelta(days=days_ago))
            _backdate_notices(step.notified, now - timedelta(days=days_ago))
        db.session.flush()


# --- rectification --------------------------------------------------------------------------

# (finding title, plan, issued days ago, steps: [(action, days ago, actor, fields)])
DEMO_RECTIFICATIONS = [
    ("区教育局违规发放津补贴", "immediate", 75, [
        ("chase", 20, "audit.staff", {"comment": "整改期限已过，请立即报送整改情况。"}),
    ]),
    ("区教育局超标准列支公务接待费", "immediate", 20, [
        ("report", 12, "unit.contact", {
            "measures": "已按标准重新核定接待费用，超标部分由相关人员个人承担。",
            "amount_recovered": "12480.00", "final": True}),
        ("verify", 8, "audit.staff", {"comment": "经核实，已退回超标费用。"}),
        ("sign-off", 7, "audit.staff", {}),
    ]),
    ("年初预算编制不细化，代编预算比例过高", "staged", 40, [
        ("report", 10, "unit.contact", {
            "measures": "已修订部门预算编制规程，2021年代编预算比例降至5%。",
            "rules": "《区教育局部门预算编制管理办法》"}),
    ]),
    ("政府采购项目未按规定公开招标", "staged", 50, [
        ("report", 15, "unit.contact", {
            "measures": "已对相关责任人进行诫勉谈话，重新规范采购流程。", "final": True}),
    ]),
    ("校舍维修工程未办理竣工决算", "long_term", 45, [
        ("report", 20, "unit.contact", {
            "measures": "已委托中介机构开展竣工决算审计，预计年底完成。"}),
    ]),
    ("疫情防控补助资金发放不精准", "immediate", 70, [
        ("report", 45, "unit.contact", {
            "measures": "已追回违规发放资金9.53万元，完善发放审核机制。",
            "amount_recovered": "95300.00", "final": True}),
        ("verify", 40, "audit.staff", {"comment": "经核实，资金已全部追回。"}),
        ("sign-off", 39, "audit.staff", {}),
        ("approve-sign-off", 38, "audit.leader", {}),
    ]),
    ("社会捐赠款物未及时入账", "staged", 60, [
        ("report", 30, "unit.contact", {"measures": "已将捐赠款全部入账并公开。", "final": True}),
        ("verify", 25, "audit.staff", {}),
    ]),
    ("疫情防控物资采购价格明显偏高", "staged", 55, [
        ("report", 25, "unit.contact", {"measures": "已与供应商协商退还差价。", "final": True}),
        ("send-back", 22, "audit.staff", {"reason": "未提供退款凭证，请补充后重新报送。"}),
    ]),
]


def _unit_contact_for(unit_code: str) -> str:
    return "unit.contact" if unit_code == "unit-education" else "street.contact"


def seed_rectifications() -> None:
    from datetime import timedelta

    from supervise.calendar import deadlines
    from supervise.calendar.models import load_calendar
    from supervise.database import now_utc
    from supervise.rectifications import operations as rectifications
    from supervise.rectifications.models import Rectification
    from supervise.settings.models import get_setting

    if db.session.scalar(sa.select(Rectification.id)):
        return
    now = now_utc()
    for title, plan, issued_days_ago, steps in DEMO_RECTIFICATIONS:
        finding = db.session.scalar(sa.select(Finding).where(Finding.title == title))
        rectification = rectifications.issue_rectification(_user("audit.staff"), finding, plan)
        issued = now - timedelta(days=issued_days_ago)
        rectification.issued_at = issued
        rectification.steps[-1].at = issued
        _backdate_notices(db.session.scalars(sa.select(Notification).where(
            Notification.subject_type == "rectification",
            Notification.subject_id == rectification.id)), issued)
        due = rectifications.default_due(rectification.plan, issued)
        rectification.due_at, rectification.calendar_complete = due.due_at, due.complete
        rectification.warn_at = deadlines.warning_start(
            due.due_at, get_setting("due_soon_working_days"), load_calendar())
        for action, days_ago, actor, fields in steps:
            if actor == "unit.contact":
                actor = _unit_contact_for(finding.unit.code)
            step = rectifications.take_action(_user(actor), rectification, action,
                                              rectifications.ActionInput(**fields))
            report = step.result
            when = now - timedelta(days=days_ago)
            rectification.steps[-1].at = when
            _backdate_notices(step.notified, when)
            if report is not None:
                report.submitted_at = when
                if report.final:
                    rectification.rectified_at = when
            if action == "approve-sign-off":
                rectification.signed_off_at = when
        db.session.flush()


# The audit bureau's document number prefixes, kind by kind.
DEMO_PREFIXES = {"referral_letter": "区审移", "chaser": "区审催", "rectification_notice": "区审整",
                 "sign_off_sheet": "区审销", "urge_notice": "区审督"}


def seed_documents() -> None:
    """The audit bureau's prefixes, and every document its records may have now: a referral
    letter for each referral it sent, a chaser for each one overdue, a rectification notice for
    each item, a sign-off sheet once verified, a letter urging each overdue item."""
    from supervise.database import now_utc
    from supervise.documents import operations as documents
    from supervise.documents.kinds import KINDS
    from supervise.documents.models import Document
    from supervise.rectifications.models import Rectification
    from supervise.referrals.models import Referral

    if db.session.scalar(sa.select(Document.id)):
        return
    leader = _user("audit.leader")
    documents.set_prefixes(leader, DEMO_PREFIXES)
    now = now_utc()
    records = [*db.session.scalars(sa.select(Referral).where(
        Referral.sender_agency_id == leader.agency_id).order_by(Referral.id)),
        *db.session.scalars(sa.select(Rectification).where(
            Rectification.owner_agency_id == leader.agency_id).order_by(Rectification.id))]
    staff = _user("audit.staff")
    for record in records:
        for kind in KINDS.values():
            if kind.record == ("referral" if isinstance(record, Referral) else
                               "rectification") and kind.refusal(record, now) is None:
                documents.generate(staff, record, kind)
    db.session.flush()


def publish_announcement() -> None:
    """The special audit of epidemic funds, published with its rectification results."""
    from supervise.announcements import operations as announcements
    from supervise.announcements.models import Announcement

    if db.session.scalar(sa.select(Announcement.id)):
        return
    project = db.session.scalar(sa.select(Project).where(Project.name == DEMO_PROJECTS[1][3]))
    announcements.publish(_user("audit.leader"), project, confirm_unverified=True)
