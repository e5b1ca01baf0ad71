"""Report labels in English and Chinese. The language is configuration: ``DWH_REPORT_LANGUAGE``
(``en`` or ``zh``, default ``en``)."""

from __future__ import annotations

import os

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "dashboard_title": "Distributor dashboard",
        "published": "Published",
        "source_run": "source run",
        "sales_trend": "Net sales by month",
        "sales_by_branch": "Net sales by branch, last 12 months",
        "net_sales": "Net sales (CNY)",
        "returns": "Returns (CNY)",
        "month": "Month",
        "branch": "Branch",
        "invoice_lines": "Invoice lines",
        "buying_customers": "Buying customers",
        "sheet_sales": "Sales by month",
        "no_data": "No data published yet",
        "credit_customer_code": "Customer code",
        "credit_customer_name": "Customer name",
        "credit_rep": "Sales rep",
        "credit_status": "Status",
        "credit_final_grade": "Final grade",
        "credit_previous_grade": "Previous quarter grade",
        "credit_change": "Change",
        "credit_computed_grade": "Computed grade",
        "credit_override_grade": "Override grade",
        "credit_override_reason": "Override reason",
        "credit_score": "Credit score",
        "credit_k1": "K1 sales scale",
        "credit_k2": "K2 monthly sales",
        "credit_k3": "K3 payment method",
        "credit_k4": "K4 payment reputation",
        "credit_o1": "O1 business nature",
        "credit_o2": "O2 licences",
        "credit_o3": "O3 years in business",
        "credit_o4": "O4 goods flow",
        "credit_o5": "O5 product breadth",
        "credit_k2_value": "Monthly purchases (CNY)",
        "credit_k4_on_time": "On-time share",
        "credit_k4_days_overdue": "Max days overdue",
        "credit_current_limit": "Current credit limit (CNY)",
        "credit_recommended_limit": "Recommended credit limit (CNY)",
        "credit_action": "Credit action",
        "credit_reasons": "Indicator reasons",
        "credit_no_rating": "No rating",
        "credit_change_up": "up",
        "credit_change_down": "down",
        "credit_change_same": "same",
        "credit_change_new": "new",
    },
    "zh": {
        "dashboard_title": "经销商管理看板",
        "published": "发布时间",
        "source_run": "来源运行",
        "sales_trend": "月度净销售额",
        "sales_by_branch": "近12个月各分支机构净销售额",
        "net_sales": "净销售额（元）",
        "returns": "退货金额（元）",
        "month": "月份",
        "branch": "分支机构",
        "invoice_lines": "发票行数",
        "buying_customers": "购货客户数",
        "sheet_sales": "月度销售",
        "no_data": "尚无已发布数据",
        "credit_customer_code": "客户编码",
        "credit_customer_name": "客户名称",
        "credit_rep": "销售代表",
        "credit_status": "状态",
        "credit_final_grade": "最终等级",
        "credit_previous_grade": "上季度等级",
        "credit_change": "变化",
        "credit_computed_grade": "计算等级",
        "credit_override_grade": "调整等级",
        "credit_override_reason": "调整原因",
        "credit_score": "信用评分",
        "credit_k1": "K1 年销售规模",
        "credit_k2": "K2 月销售额",
        "credit_k3": "K3 付款方式",
        "credit_k4": "K4 付款信誉",
        "credit_o1": "O1 经营性质",
        "credit_o2": "O2 证照情况",
        "credit_o3": "O3 经营年数",
        "credit_o4": "O4 货物流向",
        "credit_o5": "O5 产品销售",
        "credit_k2_value": "月均进货额（元）",
        "credit_k4_on_time": "按时付款比例",
        "credit_k4_days_overdue": "最长逾期天数",
        "credit_current_limit": "当前信用额度（元）",
        "credit_recommended_limit": "建议信用额度（元）",
        "credit_action": "信用措施",
        "credit_reasons": "指标说明",
        "credit_no_rating": "无评级",
        "credit_change_up": "上升",
        "credit_change_down": "下降",
        "credit_change_same": "不变",
        "credit_change_new": "新",
    },
}


def language() -> str:
    lang = os.environ.get("DWH_REPORT_LANGUAGE", "en")
    if lang not in LABELS:
        raise ValueError(f"DWH_REPORT_LANGUAGE must be one of {sorted(LABELS)}, not {lang!r}")
    return lang


def labels(lang: str | None = None) -> dict[str, str]:
    return LABELS[lang or language()]
