"""The staff pages' two languages: simplified Chinese (zh-CN) and English.

A dict-based translator rather than gettext catalogues: the pages have a few hundred
labels, the Chinese terms are the ones staff use on the phone (DOMAIN.md, SERVICE_FLOW.md
section 2), and a missing key must show up in a test, not as a silently English page.
Device kinds, part names and fault summaries come from the catalog, which already holds
both languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from aftercare.catalog import Catalog, default_catalog

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "MESSAGES",
    "Translator",
    "negotiate_language",
]

LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"

# key -> (English, 中文). Keep keys grouped by page; states and KPIs use their API names.
MESSAGES: Final[Mapping[str, tuple[str, str]]] = {
    # shell
    "brand": ("Aftercare service desk", "Aftercare 售后服务台"),
    "nav.queue": ("Ticket queue", "工单队列"),
    "nav.today": ("Today's jobs", "今日任务"),
    "nav.kpis": ("KPIs", "KPI 指标"),
    "nav.quality": ("Quality report", "质量报告"),
    "nav.settlement": ("Settlement", "结算"),
    "nav.logout": ("Sign out", "退出"),
    "lang.switch": ("中文", "English"),
    # login
    "login.title": ("Staff sign-in", "员工登录"),
    "login.username": ("Username", "用户名"),
    "login.password": ("Password", "密码"),
    "login.submit": ("Sign in", "登录"),
    "login.failed": ("Wrong username or password.", "用户名或密码错误。"),
    # roles
    "role.agent": ("Agent", "坐席"),
    "role.station": ("Station", "服务网点"),
    "role.engineer": ("Engineer", "维修工程师"),
    "role.manager": ("Manager", "服务经理"),
    "role.admin": ("Admin", "管理员"),
    # ticket states (SERVICE_FLOW.md section 2)
    "state.accepted": ("Accepted", "受理"),
    "state.dispatched": ("Dispatched", "已派工"),
    "state.scheduled": ("Scheduled", "已预约"),
    "state.en_route": ("En route", "已出发"),
    "state.repairing": ("Repairing", "检修中"),
    "state.waiting_for_parts": ("Waiting for parts", "待备件"),
    "state.completed": ("Completed", "已完工"),
    "state.followed_up": ("Followed up", "已回访"),
    "state.closed": ("Closed", "已关闭"),
    "state.cancelled": ("Cancelled", "已取消"),
    # severities
    "severity.low": ("Low", "低"),
    "severity.medium": ("Medium", "中"),
    "severity.high": ("High", "高"),
    "severity.critical": ("Critical", "紧急"),
    # queue
    "queue.title": ("Ticket queue", "工单队列"),
    "queue.filter": ("Filter", "筛选"),
    "queue.all": ("All", "全部"),
    "queue.state": ("State", "状态"),
    "queue.station": ("Station", "网点"),
    "queue.fault": ("Fault", "故障"),
    "queue.sla_at_risk": ("SLA at risk only", "仅显示时效风险"),
    "queue.empty": ("No tickets match.", "没有符合条件的工单。"),
    "queue.live": ("Updates live", "实时更新"),
    "queue.count": ("tickets", "张工单"),
    "col.id": ("Ticket", "工单号"),
    "col.origin": ("Origin", "来源"),
    "col.device": ("Device", "设备"),
    "col.fault": ("Fault", "故障"),
    "col.severity": ("Severity", "级别"),
    "col.state": ("State", "状态"),
    "col.station": ("Station", "网点"),
    "col.accepted_at": ("Accepted", "受理时间"),
    "col.sla": ("SLA", "时效"),
    "col.occurrences": ("Occurrences", "次数"),
    "origin.gateway": ("Auto (gateway)", "自动(网关)"),
    "origin.agent": ("Agent", "人工"),
    "sla.ok": ("On track", "正常"),
    "sla.at_risk": ("At risk", "有风险"),
    "sla.breached": ("Breached", "已超时"),
    # ticket detail
    "ticket.title": ("Ticket", "工单"),
    "ticket.why": ("Why the gateway raised it", "网关报修原因"),
    "ticket.evidence": ("Evidence", "证据"),
    "ticket.no_evidence": ("No telemetry evidence (raised by an agent).", "无遥测证据(人工受理)。"),
    "ticket.detected_at": ("Detected", "检测时间"),
    "ticket.predicted_failure": ("Predicted failure", "预计故障时间"),
    "ticket.lead_time": ("Lead time", "提前量"),
    "ticket.timeline": ("Timeline", "处理记录"),
    "ticket.reservations": ("Reserved parts", "预留备件"),
    "ticket.warranty": ("Warranty and quote", "保修与报价"),
    "ticket.in_warranty": ("In warranty", "保修期内"),
    "ticket.out_of_warranty": ("Out of warranty", "已过保"),
    "ticket.customer_pays": ("Customer pays", "用户需付"),
    "ticket.actions": ("Actions", "操作"),
    "ticket.no_actions": ("Nothing for your role to do now.", "当前角色无可执行操作。"),
    "ticket.customer": ("Customer", "用户"),
    "ticket.address": ("Address", "地址"),
    "ticket.sku": ("Part", "备件"),
    "ticket.qty": ("Qty", "数量"),
    "ticket.reservation_state": ("Line state", "状态"),
    "ticket.warehouse": ("Warehouse", "仓库"),
    "ticket.who": ("Who", "操作人"),
    "ticket.when": ("When", "时间"),
    "ticket.what": ("What", "内容"),
    "ticket.action_failed": ("The action was refused", "操作被拒绝"),
    "ticket.sla_clocks": ("SLA clocks", "时效"),
    "ticket.deadline": ("Deadline", "截止"),
    # actions
    "action.dispatched": ("Dispatch", "派工"),
    "action.appointment_booked": ("Book appointment", "预约上门"),
    "action.engineer_departed": ("Depart", "出发"),
    "action.repair_started": ("Start repair", "开始检修"),
    "action.waiting_for_parts": ("Wait for parts", "待备件"),
    "action.completed": ("Complete", "完工回单"),
    "action.follow_up": ("Record follow-up", "记录回访"),
    "action.complaint": ("Record complaint", "记录投诉"),
    "action.escalated": ("Escalate", "升级"),
    "action.closed": ("Close", "关闭"),
    "action.cancelled": ("Cancel", "取消"),
    "action.quote_accepted": ("Customer accepts quote", "用户接受报价"),
    "action.quote_declined": ("Customer declines quote", "用户拒绝报价"),
    "action.parts_arrived": ("Parts arrived", "备件到站"),
    "action.created": ("Ticket accepted", "工单受理"),
    "action.occurrence": ("Detected again", "再次检测到"),
    "action.sla_warned": ("SLA warning", "时效预警"),
    "action.sla_breached": ("SLA breached", "时效超时"),
    "action.reservation_expired": ("Reservation expired", "备件预留过期"),
    "action.escalation_auto_raised": ("Escalation raised automatically", "自动升级"),
    "field.slot_start": ("Slot start", "预约开始"),
    "field.slot_end": ("Slot end", "预约结束"),
    "field.parts_used": ("Parts used (SKU×qty, comma separated)", "使用备件(编号×数量,逗号分隔)"),
    "field.old_parts_kept": ("Old parts kept (SKUs)", "保留旧件(编号)"),
    "field.satisfaction": ("Satisfaction (1-5)", "满意度(1-5)"),
    "field.comment": ("Comment", "备注"),
    "field.reason": ("Reason", "原因"),
    "field.station_id": ("Station", "网点"),
    # engineer
    "today.title": ("Today's jobs", "今日任务"),
    "today.empty": ("No jobs today.", "今天没有任务。"),
    "today.slot": ("Slot", "时段"),
    # KPIs
    "kpis.title": ("Service KPIs", "服务 KPI"),
    "kpis.period": ("Period", "统计周期"),
    "kpis.since": ("From", "开始"),
    "kpis.until": ("Until", "结束"),
    "kpis.show": ("Show", "查询"),
    "kpis.value": ("Value", "实际"),
    "kpis.target": ("Target", "目标"),
    "kpis.numerator": ("Numerator", "分子"),
    "kpis.denominator": ("Denominator", "分母"),
    "kpis.pending": ("Pending", "待定"),
    "kpis.met": ("Met", "达标"),
    "kpis.missed": ("Missed", "未达标"),
    "kpis.no_data": ("No data", "无数据"),
    "kpis.trend": ("Weekly trend", "周趋势"),
    "kpis.proactive_share": ("Proactive share", "主动服务占比"),
    "kpis.proactive_share.hint": (
        "tickets raised by gateways before any customer call",
        "网关在用户来电前主动报修的工单",
    ),
    "kpis.mean_lead_time": ("Mean lead time before predicted failure", "预计故障前平均提前量"),
    "kpi.satisfaction_rate": ("Customer satisfaction", "客户满意度"),
    "kpi.complaint_rate": ("Complaint rate", "客户投诉率"),
    "kpi.response_1h_rate": ("1-hour response", "1小时响应率"),
    "kpi.completion_24h_rate": ("24-hour completion", "24小时完成率"),
    "kpi.parts_24h_rate": ("24-hour parts fulfilment", "24小时配件满足率"),
    "kpi.follow_up_rate": ("Follow-up rate", "回访率"),
    "kpi.quality_feedback": ("Quality feedback to the factory", "产品质量推进"),
    # quality
    "quality.title": ("Quality report to the factory", "产品质量反馈报告"),
    "quality.month": ("Month", "月份"),
    "quality.model": ("Model", "型号"),
    "quality.firmware": ("Firmware", "固件"),
    "quality.tickets": ("Tickets", "工单数"),
    "quality.devices": ("Devices in field", "在网设备"),
    "quality.per_1000": ("Per 1000 devices", "每千台"),
    "quality.incidents": ("Fleet-wide incidents", "批量性故障"),
    "quality.no_incidents": ("No fault rose beyond its baseline.", "没有故障超出基线。"),
    "quality.baseline": ("Baseline", "基线"),
    "quality.download": ("Download", "下载"),
    "quality.reports_this_year": ("Reports this year", "本年报告数"),
    # settlement
    "settlement.title": ("Station settlement", "网点结算"),
    "settlement.month": ("Month", "月份"),
    "settlement.station": ("Station", "网点"),
    "settlement.tickets": ("Completed tickets", "完工工单"),
    "settlement.total": ("Total fee", "费用合计"),
    "settlement.fee": ("Fee", "费用"),
    "settlement.band": ("Distance band", "距离档"),
    "settlement.warranty": ("Warranty", "保修"),
    "settlement.schedule": ("Fee schedule", "收费标准"),
    "settlement.any": ("any", "任意"),
    "settlement.totals": ("Monthly totals per station", "网点月度汇总"),
    "settlement.state": ("Settlement state", "结算状态"),
    "settlement.eligible": ("Eligible", "可结算"),
    "settlement.pending": ("Pending", "待结算"),
    "settlement.approved": ("Approved", "已审核"),
    "settlement.paid": ("Paid", "已支付"),
    "settlement.empty": ("No completed tickets in this month.", "本月没有完工工单。"),
    "band.near": ("≤ 10 km", "10 公里内"),
    "band.mid": ("10-30 km", "10-30 公里"),
    "band.far": ("> 30 km", "30 公里以上"),
    "common.yes": ("yes", "是"),
    "common.no": ("no", "否"),
    "common.none": ("—", "—"),
    "common.back": ("Back", "返回"),
    "common.days": ("days", "天"),
    "common.hours": ("h", "小时"),
    "common.export_csv": ("CSV", "CSV"),
    "common.export_json": ("JSON", "JSON"),
}


def negotiate_language(requested: str | None, accept_language: str | None = None) -> str:
    """The language to show: an explicit choice first, then the browser's preference.

    Args:
        requested: the user's choice (cookie or query), if any.
        accept_language: the ``Accept-Language`` header, if any.
    """
    if requested in LANGUAGES:
        return requested
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    """Looks labels up in one language.

    Args:
        lang: ``"zh-CN"`` or ``"en"``.
        catalog: where kind, part and fault names come from.
    """

    lang: str
    catalog: Catalog

    @classmethod
    def for_language(cls, lang: str) -> Translator:
        """A translator on the default catalog."""
        return cls(lang if lang in LANGUAGES else DEFAULT_LANGUAGE, default_catalog())

    @property
    def is_zh(self) -> bool:
        """Whether the page is in Chinese."""
        return self.lang == "zh-CN"

    def __call__(self, key: str) -> str:
        """The label for ``key``; the key itself when it is unknown, so it shows up in review."""
        pair = MESSAGES.get(key)
        if pair is None:
            return key
        return pair[1] if self.is_zh else pair[0]

    def state(self, state: str) -> str:
        """A ticket state's label."""
        return self(f"state.{state}")

    def kind(self, kind: str) -> str:
        """A device kind's label from the catalog."""
        spec = self.catalog.kinds.get(kind)
        if spec is None:
            return kind
        return spec.label_zh if self.is_zh else spec.label_en

    def part(self, sku: str) -> str:
        """A part's name from the catalog."""
        spec = self.catalog.parts.get(sku)
        if spec is None:
            return sku
        return spec.name_zh if self.is_zh else spec.name_en

    def fault_summary(self, code: str) -> str:
        """The plain-language summary of a fault code."""
        spec = self.catalog.faults.get(code)
        if spec is None:
            return code
        return spec.summary_zh if self.is_zh else spec.summary_en

    def fault_failure(self, code: str) -> str:
        """What the predicted functional failure of a fault means, in plain words."""
        spec = self.catalog.faults.get(code)
        if spec is None:
            return ""
        return spec.failure_zh if self.is_zh else spec.failure_en
