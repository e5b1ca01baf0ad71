"""Report labels in English and Chinese: every heading, every enumeration value a report shows
(channel types, bands, grade changes, credit actions, statuses, tiers, nine-box strategies, the
sources a company may not deliver) and the credit rating's indicator reasons.

The language is configuration: ``DWH_REPORT_LANGUAGE`` (``en`` or ``zh``), else ``report_language``
of company.yml (default ``en``). Amount labels name the company's currency (``currency`` of
company.yml: ``{currency}`` in a label; 元 for CNY in Chinese); thresholds in labels come from
rules.yml (``{low}``/``{high}`` days of R5), never from this file.

A value the tables below do not know (an enumeration value a company added in its company.yml
``enums``, a strategy text of its own rules.yml) is shown as the company wrote it: in Chinese its
first spelling with Chinese characters when it has one, else the value made readable
(``RESTAURANT`` → ``Restaurant``)."""

from __future__ import annotations

import os
import re

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "dashboard_title": "Distributor dashboard",
        "published": "Published",
        "source_run": "source run",
        "data_through": "data through",
        "sales_trend": "Net sales by month",
        "sales_by_branch": "Net sales by branch, last 12 months",
        "net_sales": "Net sales ({currency})",
        "returns": "Returns ({currency})",
        "margin": "Gross margin ({currency})",
        "month": "Month",
        "branch": "Branch",
        "branch_code": "Branch code",
        "branch_name": "Branch name",
        "invoice_lines": "Invoice lines",
        "buying_customers": "Buying customers",
        "net_sales_last_year": "Net sales same month last year ({currency})",
        "change_vs_last_year": "Change vs last year",
        "total": "Total",
        "n_customers": "{n} customers",
        "kpi_title": "Key figures, {month}",
        "kpi_month_to_date": "month to date: {start} to {end}, compared with the same days",
        "kpi_full_month": "whole month, compared with whole months",
        "vs_previous_month": "vs previous month",
        "vs_last_year": "vs same month last year",
        "no_comparison": "no data to compare",
        "sheet_sales": "Sales by month",
        "no_data": "No data published yet",
        "no_data_delivered": "No data delivered",
        "no_data_delivered_for": "No data delivered: the company does not deliver {sources}",
        "credit_incomplete": "incomplete",
        "credit_incomplete_because": "incomplete (not available: {what})",
        "grade_INCOMPLETE": "Incomplete",
        "credit_customer_code": "Customer code",
        "credit_customer_name": "Customer name",
        "credit_rep": "Sales rep",
        "credit_rep_code": "Sales rep code",
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
        "credit_k2_value": "Monthly purchases ({currency})",
        "credit_k4_on_time": "On-time share",
        "credit_k4_days_overdue": "Max days overdue",
        "credit_current_limit": "Current credit limit ({currency})",
        "credit_recommended_limit": "Recommended credit limit ({currency})",
        "credit_action": "Credit action",
        "credit_reasons": "Indicator reasons",
        "credit_no_rating": "No rating",
        "credit_channel": "Channel type",
        "credit_change_up": "up",
        "credit_change_down": "down",
        "credit_change_same": "same",
        "credit_change_new": "new",
        "abc_class": "Class",
        "abc_class_of": "Class {c}",
        "customers_header": "Customers",
        "month_to_date_note": "{month}: month to date, through {date}",
        "segments_abc": "ABC classes by channel type",
        "segments_nine_box": "Nine-box grid (customers per cell)",
        "nine_box_strategies": "Recommended visit strategy per cell",
        "cell": "Cell",
        "strategy": "Strategy",
        "potential_axis": "Potential",
        "current_axis": "Share of wallet",
        "potential_A": "A high",
        "potential_B": "B medium",
        "potential_C": "C low",
        "current_1": "1 high",
        "current_2": "2 medium",
        "current_3": "3 low",
        "as_of": "As of",
        "credit_grades": "Credit grades",
        "grade_1": "1",
        "grade_2": "2",
        "grade_3": "3",
        "grade_4": "4",
        "grade_5": "5",
        "grade_NEW": "NEW",
        "credit_changes": "Credit grade changes vs previous quarter",
        "customers": "customers",
        "quarter": "Quarter",
        "inventory_bands": "Inventory-day bands",
        "band_low": "Low (< {low} days)",
        "band_normal": "Normal ({low}–{high} days)",
        "band_high": "High (> {high} days)",
        "band_stagnant": "Stagnant",
        "customer_skus": "customer × SKU",
        "week_of": "Week of",
        "clv_by_segment": "Predictive customer lifetime value by ABC class",
        "clv_horizon": "Expected gross margin over the next {months} months, discounted at {rate} a year",
        "clv_total": "Total predictive CLV ({currency})",
        "clv_avg": "Average predictive CLV per customer ({currency})",
        "visit_compliance": "Visit compliance by sales rep",
        "visits_share_a": "Share of visits to A customers",
        "visits_per_day": "Customer visits per working day",
        "target": "Target",
        "sheet_credit": "Credit list",
        "sheet_inventory_alerts": "Inventory alerts",
        "sheet_visits": "Visit compliance",
        "week": "Week",
        "customer_code": "Customer code",
        "customer_name": "Customer name",
        "sku": "SKU",
        "product_name": "Product name",
        "closing_qty": "Closing stock",
        "avg_daily_sell_out": "Avg daily sell-out",
        "days_of_inventory": "Days of inventory",
        "inventory_band": "Band",
        "is_stagnant": "Stagnant",
        "suggested_order_qty": "Suggested order qty",
        "suggested_order_units": "Suggested order (units, rounded up)",
        "rep": "Sales rep",
        "rep_code": "Sales rep code",
        "rep_name": "Rep name",
        "customer_visits": "Customer visits",
        "visits_a": "Visits to A",
        "share_visits_a": "Share of visits to A",
        "target_share_visits_a": "Target share to A",
        "meets_target": "Meets target",
        "visits_per_working_day": "Visits per working day",
        "target_visits_min": "Target visits/day min",
        "target_visits_max": "Target visits/day max",
        "selling_time_share": "Selling time share",
        "customers_under_band": "Customers under band",
        "customers_within_band": "Customers within band",
        "customers_over_band": "Customers over band",
        "unknown": "Unknown",
        "no_branch": "No branch",
        "yes": "yes",
        "no": "no",
    },
    "zh": {
        "dashboard_title": "经销商管理看板",
        "published": "发布时间",
        "source_run": "来源运行",
        "data_through": "数据截至",
        "sales_trend": "月度净销售额",
        "sales_by_branch": "近12个月各分支机构净销售额",
        "net_sales": "净销售额（{currency}）",
        "returns": "退货金额（{currency}）",
        "margin": "毛利（{currency}）",
        "month": "月份",
        "branch": "分支机构",
        "branch_code": "分支机构编码",
        "branch_name": "分支机构名称",
        "invoice_lines": "发票行数",
        "buying_customers": "购货客户数",
        "net_sales_last_year": "去年同月净销售额（{currency}）",
        "change_vs_last_year": "同比变化",
        "total": "合计",
        "n_customers": "{n} 家客户",
        "kpi_title": "关键指标（{month}）",
        "kpi_month_to_date": "本月累计：{start} 至 {end}，与同期相同天数比较",
        "kpi_full_month": "整月数据，与整月比较",
        "vs_previous_month": "环比",
        "vs_last_year": "同比",
        "no_comparison": "无可比数据",
        "sheet_sales": "月度销售",
        "no_data": "尚无已发布数据",
        "no_data_delivered": "未提供数据",
        "no_data_delivered_for": "未提供数据：公司未提供 {sources}",
        "credit_incomplete": "不完整",
        "credit_incomplete_because": "不完整（数据缺失：{what}）",
        "grade_INCOMPLETE": "不完整",
        "credit_customer_code": "客户编码",
        "credit_customer_name": "客户名称",
        "credit_rep": "销售代表",
        "credit_rep_code": "销售代表编码",
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
        "credit_k2_value": "月均进货额（{currency}）",
        "credit_k4_on_time": "按时付款比例",
        "credit_k4_days_overdue": "最长逾期天数",
        "credit_current_limit": "当前信用额度（{currency}）",
        "credit_recommended_limit": "建议信用额度（{currency}）",
        "credit_action": "信用措施",
        "credit_reasons": "指标说明",
        "credit_no_rating": "无评级",
        "credit_channel": "渠道类型",
        "credit_change_up": "上升",
        "credit_change_down": "下降",
        "credit_change_same": "不变",
        "credit_change_new": "新",
        "abc_class": "类",
        "abc_class_of": "{c} 类",
        "customers_header": "客户数",
        "month_to_date_note": "{month}：本月累计，截至 {date}",
        "segments_abc": "各渠道类型 ABC 分类",
        "segments_nine_box": "九宫格（各格客户数）",
        "nine_box_strategies": "各格建议拜访策略",
        "cell": "格",
        "strategy": "策略",
        "potential_axis": "潜力",
        "current_axis": "份额（钱包占比）",
        "potential_A": "A 高",
        "potential_B": "B 中",
        "potential_C": "C 低",
        "current_1": "1 高",
        "current_2": "2 中",
        "current_3": "3 低",
        "as_of": "截至",
        "credit_grades": "信用等级分布",
        "grade_1": "一级",
        "grade_2": "二级",
        "grade_3": "三级",
        "grade_4": "四级",
        "grade_5": "五级",
        "grade_NEW": "新客户",
        "credit_changes": "信用等级较上季度变化",
        "customers": "客户",
        "quarter": "季度",
        "inventory_bands": "库存天数区间",
        "band_low": "偏低（< {low} 天）",
        "band_normal": "正常（{low}–{high} 天）",
        "band_high": "偏高（> {high} 天）",
        "band_stagnant": "滞销",
        "customer_skus": "客户 × 品规",
        "week_of": "周",
        "clv_by_segment": "各 ABC 类客户预测终身价值",
        "clv_horizon": "未来 {months} 个月的预期毛利，按年贴现率 {rate} 折现",
        "clv_total": "预测终身价值合计（{currency}）",
        "clv_avg": "每客户平均预测终身价值（{currency}）",
        "visit_compliance": "销售代表拜访达标情况",
        "visits_share_a": "A 类客户拜访占比",
        "visits_per_day": "每工作日客户拜访数",
        "target": "目标",
        "sheet_credit": "信用清单",
        "sheet_inventory_alerts": "库存预警",
        "sheet_visits": "拜访达标",
        "week": "周",
        "customer_code": "客户编码",
        "customer_name": "客户名称",
        "sku": "品规",
        "product_name": "产品名称",
        "closing_qty": "期末库存",
        "avg_daily_sell_out": "日均销量",
        "days_of_inventory": "库存天数",
        "inventory_band": "区间",
        "is_stagnant": "滞销",
        "suggested_order_qty": "建议订货量",
        "suggested_order_units": "建议订货量（整件，向上取整）",
        "rep": "销售代表",
        "rep_code": "销售代表编码",
        "rep_name": "代表姓名",
        "customer_visits": "客户拜访数",
        "visits_a": "A 类拜访数",
        "share_visits_a": "A 类拜访占比",
        "target_share_visits_a": "A 类占比目标",
        "meets_target": "是否达标",
        "visits_per_working_day": "每工作日拜访数",
        "target_visits_min": "日拜访目标下限",
        "target_visits_max": "日拜访目标上限",
        "selling_time_share": "销售时间占比",
        "customers_under_band": "拜访不足客户数",
        "customers_within_band": "拜访达标客户数",
        "customers_over_band": "拜访过多客户数",
        "unknown": "未知",
        "no_branch": "无分支机构",
        "yes": "是",
        "no": "否",
    },
}

# Enumeration values as the reports show them: (enumeration, value) -> label per language. The
# enumerations of pipelines/ingest/sources.yml, and the values the marts compute.
ENUMS: dict[str, dict[str, tuple[str, str]]] = {  # enum -> value -> (en, zh)
    "channel_type": {
        "NATIONAL_WHOLESALER": ("National wholesaler", "全国性批发商"),
        "REGIONAL_WHOLESALER": ("Regional wholesaler", "区域性批发商"),
        "PHARMACY_CHAIN": ("Pharmacy chain", "连锁药店"),
        "SINGLE_PHARMACY": ("Single pharmacy", "单体药店"),
        "HOSPITAL_CLINIC": ("Hospital / clinic", "医院 / 诊所"),
        "OTHER": ("Other", "其他"),
    },
    "payment_terms": {
        "PREPAY": ("Prepayment", "预付款"),
        "COD": ("Cash on delivery", "货到付款"),
        "NET15": ("Credit, 15 days", "赊销 15 天"),
        "NET30": ("Credit, 30 days", "赊销 30 天"),
        "NET60": ("Credit, 60 days", "赊销 60 天"),
        "NET90": ("Credit, 90 days", "赊销 90 天"),
        "BILL": ("Acceptance bill", "承兑汇票"),
    },
    "business_nature": {
        "STATE_OWNED": ("State-owned", "国有"),
        "PRIVATE_COMPANY": ("Private company", "民营企业"),
        "INDIVIDUAL": ("Individual", "个体"),
    },
    "customer_status": {"ACTIVE": ("Active", "正常"), "CLOSED": ("Closed", "已关闭")},
    "product_status": {"ACTIVE": ("Active", "在售"), "DISCONTINUED": ("Discontinued", "已停产")},
    "rep_status": {"ACTIVE": ("Active", "在职"), "INACTIVE": ("Inactive", "离职")},
    "line_type": {"SALE": ("Sale", "销售"), "RETURN": ("Return", "退货")},
    "record_type": {"INVOICE": ("Invoice", "发票"), "PAYMENT": ("Payment", "付款")},
    "activity_type": {
        "selling": ("Selling", "销售拜访"),
        "travel": ("Travel", "路途"),
        "organisation": ("Organisation", "内部事务"),
        "personal": ("Personal", "个人事务"),
    },
    # computed by the marts
    "inventory_band": {"low": ("Low", "偏低"), "normal": ("Normal", "正常"), "high": ("High", "偏高")},
    "band_status": {"under": ("Under band", "拜访不足"), "within": ("Within band", "达标"), "over": ("Over band", "拜访过多")},
    "grade_change": {"up": ("up", "上升"), "down": ("down", "下降"), "same": ("same", "不变"), "new": ("new", "新")},
    # English keeps the mart's words for the rating status (the review workbook is sorted by them)
    "rating_status": {"RATED": ("RATED", "已评级"), "NEW": ("NEW", "新客户"), "INCOMPLETE": ("incomplete", "不完整")},
    "vip_tier": {"diamond": ("Diamond", "钻石"), "gold": ("Gold", "黄金"), "silver": ("Silver", "白银")},
    # the sources a company may not deliver (company.yml), as "No data delivered" names them
    "source": {
        "sales_lines": ("sales_lines", "销售明细"),
        "receivables": ("receivables", "应收账款"),
        "stock": ("stock", "库存报表"),
        "visits": ("visits", "拜访记录"),
        "customers": ("customers", "客户档案"),
        "products": ("products", "产品档案"),
        "reps": ("reps", "销售代表档案"),
        "branches": ("branches", "组织架构"),
        "credit_overrides": ("credit_overrides", "信用等级调整"),
    },
}

# The nine-box strategies of the sample rules.yml (r3_nine_box.strategies) in Chinese, by their
# English text: a company that writes its own strategies sees them as written.
STRATEGIES_ZH: dict[str, str] = {
    "Maintain: strategic partner, top visit frequency, joint business plan": "维持：战略伙伴，最高拜访频率，共同制定业务计划",
    "Grow: high potential, raise share with promotions and frequent visits": "提升：潜力高，以促销和高频拜访提高份额",
    "Develop: big potential we barely use, priority visits and account plan": "开发：潜力大但份额低，优先拜访并制定客户计划",
    "Maintain: loyal medium account, regular visits": "维持：忠诚的中型客户，定期拜访",
    "Grow: medium account, regular visits with targeted offers": "提升：中型客户，定期拜访并提供针对性方案",
    "Develop selectively: medium potential, low share, test offers": "选择性开发：潜力中等、份额低，试推方案",
    "Serve efficiently: small but loyal, low-cost coverage": "高效服务：规模小但忠诚，低成本覆盖",
    "Serve efficiently: small account, phone and low-frequency visits": "高效服务：小客户，电话联系与低频拜访",
    "Candidate to drop: small and barely used, minimal coverage": "考虑淘汰：规模小且份额低，最低限度覆盖",
}

_CJK = re.compile(r"[\u3400-\u9fff]")


def language() -> str:
    """``DWH_REPORT_LANGUAGE`` if set, else the company's ``report_language``."""
    lang = os.environ.get("DWH_REPORT_LANGUAGE")
    if not lang:
        from pipelines.company import company

        lang = company().report_language
    if lang not in LABELS:
        raise ValueError(f"DWH_REPORT_LANGUAGE must be one of {sorted(LABELS)}, not {lang!r}")
    return lang


def currency_label(lang: str, code: str) -> str:
    """How amounts are labelled: the ISO code, or 元 for CNY in Chinese."""
    return "元" if lang == "zh" and code == "CNY" else code


class Labels(dict):
    """The labels of one language (a dict of label key -> text) that also knows its language."""

    lang: str = "en"


def labels(lang: str | None = None) -> Labels:
    """The labels of ``lang`` (default: ``language()``): amounts labelled with the company's
    currency, the R5 band limits from rules.yml."""
    from pipelines.company import company

    lang = lang or language()
    cur = currency_label(lang, company().currency)
    low, high = _band_limits()
    out = Labels({k: v.replace("{currency}", cur).replace("{low}", low).replace("{high}", high)
                  for k, v in LABELS[lang].items()})
    out.lang = lang
    return out


def _band_limits() -> tuple[str, str]:
    try:
        from pipelines.rules import rule

        return _num(rule("r5_inventory.low_days_below")), _num(rule("r5_inventory.high_days_above"))
    except Exception:  # noqa: BLE001 - a rules file without R5: the defaults of the domain rules
        return "20", "25"


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _company_spellings(enum: str, value: str) -> list[str]:
    try:
        from pipelines.company import company

        return list(company().enums.get(enum, {}).get(value, []))
    except Exception:  # noqa: BLE001 - labels never fail a report
        return []


def enum_label(lang: str, enum: str, value) -> str:
    """How a report shows ``value`` of enumeration ``enum`` in ``lang`` (see the module doc for
    values the tables do not know). ``None`` is "Unknown" / 未知."""
    if value is None:
        return LABELS[lang]["unknown"]
    value = str(value)
    known = ENUMS.get(enum, {}).get(value)
    if known:
        return known[0] if lang == "en" else known[1]
    spellings = _company_spellings(enum, value)
    if lang == "zh":
        chinese = [s for s in spellings if _CJK.search(s)]
        if chinese:
            return chinese[0]
    readable = [s for s in spellings if s != value and not _CJK.search(s)]
    if readable:
        return readable[0]
    return value.replace("_", " ").capitalize() if value.isupper() else value


def strategy_label(lang: str, text: str | None) -> str:
    """A nine-box strategy (rules.yml text) in ``lang``."""
    if not text:
        return ""
    return STRATEGIES_ZH.get(text, text) if lang == "zh" else text


def credit_action_label(lang: str, action: str | None, limit_change) -> str:
    """The credit action of a rating: in English the text of rules.yml (the mart's
    ``credit_action``); in Chinese from the limit change itself (``limit_change``: a positive share
    raises the limit by that share, -1 leaves cash only), so a company's own actions are translated too."""
    if limit_change is None:
        return action or ""
    if lang != "zh":
        return action or ""
    change = float(limit_change)
    pct = f"{abs(change) * 100:g}"
    if change <= -1:
        return "仅限现款（信用额度为 0）"
    if change < 0:
        return f"信用额度下调 {pct}%"
    if change > 0:
        return f"信用额度上调 {pct}%"
    return "维持信用额度"


def incomplete_text(L: dict[str, str], not_available: str | None) -> str:
    """An INCOMPLETE rating as the reports show it: "incomplete (not available: K4 receivables)",
    in Chinese "不完整（数据缺失：K4 应收账款）" (``not_available`` of mart_credit_rating: the
    indicators and the sources not delivered, "K4 receivables; O4 stock")."""
    if not not_available:
        return L["credit_incomplete"]
    if getattr(L, "lang", "en") == "zh":
        not_available = "；".join(_zh_not_available(item.strip()) for item in not_available.split(";"))
    return L["credit_incomplete_because"].format(what=not_available)


def _zh_not_available(item: str) -> str:
    """"K4 receivables" -> "K4 应收账款"; "K1 customers.declared_annual_turnover" keeps the column."""
    indicator, _, sources = item.partition(" ")
    if not sources:
        return item
    names = []
    for s in (x.strip() for x in sources.split(",")):
        known = ENUMS["source"].get(s)
        names.append(known[1] if known else source_label("zh", s))
    return f"{indicator} {'、'.join(names)}"


def source_label(lang: str, name: str) -> str:
    """A source (``stock``) or source column (``customers.declared_annual_turnover``) named for a
    reader: the name itself in English, 库存报表（stock） in Chinese."""
    if lang != "zh":
        return name
    source, _, column = name.partition(".")
    known = ENUMS["source"].get(source)
    return f"{known[1]}（{name}）" if known else name


def no_data_text(L: dict[str, str], sources: list[str]) -> str:
    """What a section or sheet shows when the company does not deliver its source."""
    if not sources:
        return L["no_data_delivered"]
    lang = getattr(L, "lang", "zh" if L.get("no_data_delivered") == LABELS["zh"]["no_data_delivered"] else "en")
    sep = "、" if lang == "zh" else ", "
    return L["no_data_delivered_for"].format(sources=sep.join(source_label(lang, s) for s in sources))


# ---- the credit rating's indicator reasons (int_credit_indicators writes them in English) --------

def _zh_amount(text: str) -> str:
    from pipelines.reports.fmt import amount_text

    try:
        return amount_text(float(text), "zh")
    except ValueError:
        return text


_REASONS_ZH: list[tuple[re.Pattern, object]] = [
    (re.compile(r"^not available: (.+) not delivered$"),
     lambda m: "数据缺失：未提供 " + "、".join(source_label("zh", s.strip()) for s in m[1].split(","))),
    (re.compile(r"^declared annual turnover (\S+) (\w+); A from (\S+), B from (\S+)$"),
     lambda m: (f"申报年营业额 {'缺失' if m[1] == 'missing' else _zh_amount(m[1]) + _cur(m[2])}；"
                f"A 级 ≥ {_zh_amount(m[3])}，B 级 ≥ {_zh_amount(m[4])}")),
    (re.compile(r"^mean monthly net purchases over (\d+) months (\S+) (\w+); A from (\S+), B from (\S+)$"),
     lambda m: (f"近 {m[1]} 个月月均净进货额 {_zh_amount(m[2])}{_cur(m[3])}；"
                f"A 级 ≥ {_zh_amount(m[4])}，B 级 ≥ {_zh_amount(m[5])}")),
    (re.compile(r"^payment terms (\S+)$"),
     lambda m: "付款条件：" + ("缺失" if m[1] == "missing" else enum_label("zh", "payment_terms", m[1]))),
    (re.compile(r"^no payment record yet: no receivable due in the last (\d+) months$"),
     lambda m: f"尚无付款记录：近 {m[1]} 个月无到期应收款"),
    (re.compile(r"^no payment record yet: the (\d+) invoices due in the last (\d+) months have no amount due$"),
     lambda m: f"尚无付款记录：近 {m[2]} 个月到期的 {m[1]} 张发票无应付金额"),
    (re.compile(r"^on-time share of amount (\S+) %, max days overdue (\d+) over (\d+) invoices due in the last (\d+) months$"),
     lambda m: f"按时付款金额占比 {m[1]}%，最长逾期 {m[2]} 天（近 {m[4]} 个月到期发票 {m[3]} 张）"),
    (re.compile(r"^business nature (\S+)$"),
     lambda m: "经营性质：" + ("缺失" if m[1] == "missing" else enum_label("zh", "business_nature", m[1]))),
    (re.compile(r"^licence expiry missing(.*)$"), lambda m: "证照有效期缺失" + _zh_tail(m[1])),
    (re.compile(r"^first licence expiry (\S+) \((expired|within (\d+) days|valid beyond (\d+) days)\)(.*)$"),
     lambda m: (f"最早到期证照 {m[1]}（"
                + ("已过期" if m[2] == "expired" else f"{m[3]} 天内到期" if m[3] else f"{m[4]} 天后仍有效")
                + "）" + _zh_tail(m[5]))),
    (re.compile(r"^founded date missing$"), lambda m: "成立日期缺失"),
    (re.compile(r"^(\d+) years in business$"), lambda m: f"经营 {m[1]} 年"),
    (re.compile(r"^(\d+) cross-territory sell-out incidents in the last (\d+) months$"),
     lambda m: f"近 {m[2]} 个月跨区域销售 {m[1]} 次"),
    (re.compile(r"^(\d+) product categories bought in the last (\d+) months$"),
     lambda m: f"近 {m[2]} 个月购买 {m[1]} 个产品类别"),
]


def _cur(code: str) -> str:
    return currency_label("zh", code)


def _zh_tail(tail: str) -> str:
    """"; customers.drug_licence_expiry not delivered" after an O2 reason."""
    m = re.match(r"^; (.+) not delivered$", tail or "")
    return "；未提供 " + "、".join(source_label("zh", s.strip()) for s in m[1].split(",")) if m else (tail or "")


def reason_text(lang: str, reason: str | None) -> str:
    """One indicator reason of mart_credit_rating in ``lang`` (a reason of a shape this module
    does not know stays as the mart wrote it)."""
    if not reason or lang != "zh":
        return reason or ""
    for pattern, render in _REASONS_ZH:
        m = pattern.match(reason)
        if m:
            return render(m)
    return reason
