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
    },
}


def language() -> str:
    lang = os.environ.get("DWH_REPORT_LANGUAGE", "en")
    if lang not in LABELS:
        raise ValueError(f"DWH_REPORT_LANGUAGE must be one of {sorted(LABELS)}, not {lang!r}")
    return lang


def labels(lang: str | None = None) -> dict[str, str]:
    return LABELS[lang or language()]
