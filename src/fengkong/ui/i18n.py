"""The UI's labels in English and Chinese (``?lang=zh`` or the language cookie picks one).

>>> labels("zh")["dashboard"], labels("en")["dashboard"]
('风险看板', 'Dashboard')
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "labels"]

LANGUAGES = ("en", "zh")

_LABELS: dict[str, tuple[str, str]] = {
    "title": ("fengkong risk control", "风控平台"),
    "dashboard": ("Dashboard", "风险看板"),
    "decisions": ("Decisions", "决策查询"),
    "simulator": ("Policy simulator", "策略模拟"),
    "workbench": ("Collector workbench", "催收工作台"),
    "calculator": ("Loan calculator", "贷款计算器"),
    "login": ("Log in", "登录"),
    "logout": ("Log out", "退出"),
    "api_key": ("API key", "API 密钥"),
    "bad_key": ("That key is not valid.", "密钥无效。"),
    "bad_csrf": (
        "The form's security token did not match: reload the page and try again.",
        "表单安全令牌不匹配：请刷新页面后重试。",
    ),
    "forbidden": ("Your role may not open this page.", "您的角色无权访问此页面。"),
    "loans": ("Loans", "贷款笔数"),
    "outstanding": ("Principal outstanding (CNY)", "在贷余额（元）"),
    "dpd30": ("30+ DPD share of balance", "逾期30天以上余额占比"),
    "dpd90": ("90+ DPD share of balance", "逾期90天以上余额占比"),
    "approval_rate": ("Approval rate", "通过率"),
    "vintage": (
        "Vintage curves: ever 30+ DPD by month on book",
        "账龄曲线：按账龄累计逾期30天以上占比",
    ),
    "rolls": ("Roll rates: share rolling to a worse bucket", "迁徙率：滚入更差账龄桶的占比"),
    "mob": ("Months on book", "账龄（月）"),
    "share": ("Share", "占比"),
    "search": ("Search", "查询"),
    "decide": ("Decide an application", "提交申请决策"),
    "application": ("Application (JSON)", "申请（JSON）"),
    "identifiers": ("Identifiers (JSON)", "身份标识（JSON）"),
    "decision": ("Decision", "决策结果"),
    "reasons": ("Reasons", "原因码"),
    "outputs": ("Outputs", "输出"),
    "trace": ("Trace", "决策轨迹"),
    "rule_hits": ("Rules hit", "命中规则"),
    "points": ("Scorecard points", "评分卡得分"),
    "models": ("Models", "模型"),
    "timings": ("Timings (ns)", "耗时（纳秒）"),
    "graph": ("Relationship graph", "关系网络"),
    "inputs": ("Inputs", "输入"),
    "champion": ("Champion", "冠军策略"),
    "challenger": ("Challenger", "挑战者策略"),
    "run": ("Run", "运行"),
    "rows": ("Applications", "申请数"),
    "expected_bad": ("Expected bad rate of approvals", "通过件预期坏账率"),
    "swap": ("Swap set", "交换集"),
    "my_queue": ("My queue", "我的案件"),
    "case": ("Case", "案件"),
    "stage": ("Stage", "阶段"),
    "overdue": ("Overdue (CNY)", "逾期金额（元）"),
    "balance": ("Balance (CNY)", "余额（元）"),
    "p_pay": ("P(pay)", "还款概率"),
    "schedule": ("Schedule", "还款计划"),
    "contacts": ("Contact history", "联系记录"),
    "stops": ("Stop states in force", "生效中的停催状态"),
    "request": ("Borrower request", "借款人请求"),
    "reason": ("Reason", "原因"),
    "plan": ("Today's plan", "今日计划"),
    "log_contact": ("Log a contact", "登记联系"),
    "channel": ("Channel", "渠道"),
    "when": ("When (UTC)", "时间（UTC）"),
    "template": ("Message", "话术内容"),
    "party": ("Party", "联系对象"),
    "allowed": ("Allowed", "允许"),
    "blocked": ("Blocked by", "被规则拦截"),
    "promise": ("Promise to pay", "承诺还款"),
    "amount": ("Amount (fen)", "金额（分）"),
    "due_on": ("Due on", "到期日"),
    "save": ("Save", "保存"),
    "principal": ("Principal (CNY)", "本金（元）"),
    "rate": ("Annual rate", "年利率"),
    "term": ("Term (months)", "期限（月）"),
    "method": ("Repayment method", "还款方式"),
    "fee": ("Upfront fee (CNY)", "前置费用（元）"),
    "date": ("Contract date", "合同日期"),
    "jurisdiction": ("Jurisdiction", "法域"),
    "lender_type": ("Lender type", "放贷机构类型"),
    "as_of": ("Statement as of", "对账日"),
    "data_as_of": ("Book as of", "数据日期"),
    "apr": ("True APR", "实际年化利率"),
    "breaches": ("Legal-cap breaches", "违反利率上限"),
    "none": ("none", "无"),
    "statement": ("Legal statement", "法律对账单"),
    "owed": ("Owed under the contract", "合同应付"),
    "enforceable": ("Enforceable", "可主张金额"),
    "received": ("Received by the borrower", "借款人实收"),
    "status": ("Status", "状态"),
    "number": ("No.", "期数"),
    "interest": ("Interest", "利息"),
    "total": ("Total", "合计"),
    "language": ("中文", "English"),
}


def labels(lang: str) -> dict[str, str]:
    """Every label in ``lang`` (English unless ``zh``)."""
    k = 1 if lang == "zh" else 0
    return {key: pair[k] for key, pair in _LABELS.items()}
