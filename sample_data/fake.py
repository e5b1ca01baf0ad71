"""Plausible fake Chinese reference values: geography, person and company names, phones,
tax ids (unified social credit codes with a valid check character), bank branches and
accounts, product names. Pure functions of a numpy Generator, so output is deterministic."""

from __future__ import annotations

import numpy as np

# region_code, region_name, [(province / branch name, admin-code prefix, phone area code, [cities])]
GEOGRAPHY: list[tuple[str, str, list[tuple[str, str, str, list[str]]]]] = [
    ("EAST", "华东大区", [
        ("上海", "310100", "021", ["黄浦", "浦东", "徐汇", "闵行", "嘉定", "松江"]),
        ("江苏", "320100", "025", ["南京", "苏州", "无锡", "常州", "南通", "徐州"]),
        ("浙江", "330100", "0571", ["杭州", "宁波", "温州", "绍兴", "金华", "台州"]),
        ("安徽", "340100", "0551", ["合肥", "芜湖", "蚌埠", "安庆", "阜阳"]),
        ("山东", "370100", "0531", ["济南", "青岛", "烟台", "潍坊", "临沂", "济宁"]),
        ("福建", "350100", "0591", ["福州", "厦门", "泉州", "漳州", "莆田"]),
        ("江西", "360100", "0791", ["南昌", "赣州", "九江", "上饶", "宜春"]),
    ]),
    ("SOUTH", "华南大区", [
        ("广东", "440100", "020", ["广州", "深圳", "东莞", "佛山", "珠海", "汕头"]),
        ("广西", "450100", "0771", ["南宁", "柳州", "桂林", "玉林", "梧州"]),
        ("海南", "460100", "0898", ["海口", "三亚", "儋州", "琼海"]),
    ]),
    ("NORTH", "华北大区", [
        ("北京", "110100", "010", ["东城", "朝阳", "海淀", "丰台", "通州"]),
        ("天津", "120100", "022", ["和平", "河西", "南开", "滨海"]),
        ("河北", "130100", "0311", ["石家庄", "唐山", "保定", "邯郸", "廊坊"]),
        ("山西", "140100", "0351", ["太原", "大同", "运城", "长治"]),
        ("内蒙古", "150100", "0471", ["呼和浩特", "包头", "赤峰", "鄂尔多斯"]),
    ]),
    ("CENTRAL", "华中大区", [
        ("湖北", "420100", "027", ["武汉", "宜昌", "襄阳", "荆州", "黄石"]),
        ("湖南", "430100", "0731", ["长沙", "株洲", "湘潭", "衡阳", "岳阳"]),
        ("河南", "410100", "0371", ["郑州", "洛阳", "开封", "南阳", "新乡", "商丘"]),
    ]),
    ("SOUTHWEST", "西南大区", [
        ("四川", "510100", "028", ["成都", "绵阳", "德阳", "宜宾", "南充", "泸州"]),
        ("重庆", "500100", "023", ["渝中", "江北", "万州", "涪陵"]),
        ("云南", "530100", "0871", ["昆明", "曲靖", "大理", "玉溪"]),
        ("贵州", "520100", "0851", ["贵阳", "遵义", "六盘水", "安顺"]),
    ]),
    ("NORTHWEST", "西北大区", [
        ("陕西", "610100", "029", ["西安", "宝鸡", "咸阳", "渭南", "延安"]),
        ("甘肃", "620100", "0931", ["兰州", "天水", "酒泉", "白银"]),
        ("新疆", "650100", "0991", ["乌鲁木齐", "克拉玛依", "喀什", "伊犁"]),
        ("宁夏", "640100", "0951", ["银川", "石嘴山", "吴忠"]),
    ]),
    ("NORTHEAST", "东北大区", [
        ("辽宁", "210100", "024", ["沈阳", "大连", "鞍山", "抚顺", "锦州"]),
        ("吉林", "220100", "0431", ["长春", "吉林", "四平", "延边"]),
        ("黑龙江", "230100", "0451", ["哈尔滨", "齐齐哈尔", "大庆", "牡丹江"]),
    ]),
]

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = list(
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玉兰萍红娟建国文辉力斌飞鹏宇浩凯鑫晨博思雨欣怡佳琪梦"
    "瑶婷雪琳颖倩慧晶志海波峰亮成俊林东鸿彬坤晓春燕丹凤云莉晴宁振昊泽子涵若轩逸宏远乐安嘉毅诚铭俊旭阳"
)
BRAND_CHARS = list("康健仁德济民益寿泰和福瑞鑫信百嘉春天海正源恒元宝同盛昌隆惠众联金永")
ROADS = ["人民", "解放", "中山", "建设", "新华", "和平", "胜利", "朝阳", "长江", "黄河", "文化", "光明",
         "青年", "东风", "迎宾", "体育", "学府", "滨江", "世纪", "健康"]
DISTRICT_SUFFIX = ["区", "新区", "开发区", "高新区"]
BANKS = ["中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "交通银行", "招商银行", "兴业银行",
         "中信银行", "浦发银行", "民生银行", "平安银行", "光大银行"]
MOBILE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "158", "159", "177", "180", "181", "186", "187", "188", "189", "199"]

# Product catalogue: category -> (generic names, unit, (min list price, max list price) in CNY)
CATEGORIES: list[tuple[str, list[str], list[str], tuple[float, float]]] = [
    ("感冒用药", ["复方氨酚烷胺胶囊", "感冒灵颗粒", "小儿氨酚黄那敏颗粒", "连花清瘟胶囊", "板蓝根颗粒",
              "维C银翘片", "酚麻美敏片", "双黄连口服液"], ["盒"], (8, 45)),
    ("解热镇痛", ["布洛芬缓释胶囊", "对乙酰氨基酚片", "阿司匹林肠溶片", "洛索洛芬钠片", "双氯芬酸钠凝胶",
              "萘普生片"], ["盒", "支"], (6, 60)),
    ("消化系统", ["蒙脱石散", "健胃消食片", "奥美拉唑肠溶胶囊", "多潘立酮片", "乳酸菌素片",
              "枯草杆菌二联活菌颗粒", "开塞露"], ["盒", "袋"], (5, 55)),
    ("止咳化痰", ["复方甘草片", "急支糖浆", "盐酸氨溴索口服溶液", "川贝枇杷膏", "强力枇杷露",
              "右美沙芬糖浆"], ["瓶", "盒"], (9, 50)),
    ("皮肤外用", ["红霉素软膏", "莫匹罗星软膏", "复方酮康唑乳膏", "炉甘石洗剂", "云南白药气雾剂",
              "创可贴", "风油精"], ["支", "盒", "瓶"], (4, 70)),
    ("维生素矿物质", ["维生素C咀嚼片", "复合维生素B片", "碳酸钙D3片", "葡萄糖酸锌口服液",
                "多种维生素矿物质片", "维生素E软胶囊"], ["瓶", "盒"], (15, 180)),
    ("滋补保健", ["阿胶块", "西洋参含片", "蛋白粉", "鱼油软胶囊", "枸杞原浆", "灵芝孢子粉胶囊",
              "褪黑素片"], ["盒", "瓶", "罐"], (60, 600)),
    ("个人护理", ["医用护手霜", "漱口水", "抗菌洗手液", "草本牙膏", "眼部护理液", "防蚊液"],
     ["瓶", "支"], (10, 80)),
    ("母婴用品", ["婴儿湿巾", "护臀膏", "儿童退热贴", "婴儿润肤露", "防溢乳垫"], ["包", "盒", "支"], (12, 120)),
    ("医用耗材", ["医用外科口罩", "一次性医用手套", "医用酒精棉片", "电子体温计", "医用纱布", "血压计"],
     ["盒", "个", "包"], (5, 320)),
]

VISIT_NOTES = [
    "沟通新品陈列", "库存盘点", "催收货款", "店员培训", "促销活动落实", "核对订单", "处理退货",
    "洽谈年度协议", "收集竞品信息", "补货建议", "检查终端价格", "门店陈列拍照", "新店开发拜访",
    "解答产品咨询", "回访投诉处理", "确认下周订货", "推荐秋冬感冒类备货", "协助盘点近效期产品",
]
TRAVEL_NOTES = ["前往客户", "返回办公室", "跨区出差", "市内交通", ""]
ORG_NOTES = ["晨会", "周例会", "日报整理", "费用报销", "培训", "区域会议"]
PERSONAL_NOTES = ["午休", "私事", "就医", ""]
APPROVERS = ["销售总监", "大区总监", "财务总监"]
OVERRIDE_REASONS = [
    "战略客户，回款记录良好，特批上调", "新签年度协议，预付款到位", "集团担保，维持原等级",
    "近期逾期已全部结清", "证照更新材料已补交", "经营异常，暂停赊销", "涉及诉讼，下调评级",
    "大区总监担保，限期观察",
]


def person_names(rng: np.random.Generator, n: int, length: int = 3) -> list[str]:
    """``n`` distinct Chinese person names of ``length`` characters (surname + given name)."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        k = (n - len(out)) * 2 + 16
        s = rng.integers(0, len(SURNAMES), k)
        g = rng.integers(0, len(GIVEN_CHARS), (k, length - 1))
        for i in range(k):
            name = SURNAMES[s[i]] + "".join(GIVEN_CHARS[j] for j in g[i])
            if name not in seen:
                seen.add(name)
                out.append(name)
                if len(out) == n:
                    break
    return out


def unique_digits(rng: np.random.Generator, n: int, ndigits: int, exclude: set[str] | None = None) -> list[str]:
    """``n`` distinct random digit strings of length ``ndigits`` (leading zeros allowed)."""
    out: list[str] = []
    seen = set(exclude or ())
    while len(out) < n:
        k = (n - len(out)) * 2 + 16
        vals = rng.integers(0, 10, (k, ndigits))
        for row in vals:
            s = "".join(map(str, row))
            if s not in seen:
                seen.add(s)
                out.append(s)
                if len(out) == n:
                    break
    return out


def phones(rng: np.random.Generator, area_codes: list[str], landline_share: float = 0.35,
           exclude: set[str] | None = None) -> list[str]:
    """One distinct phone number per entry of ``area_codes``: a mobile (13812345678) or a
    landline in that area (0571-87654321)."""
    out: list[str] = []
    seen = set(exclude or ())
    for area in area_codes:
        while True:
            if rng.random() < landline_share:
                p = f"{area}-{int(rng.integers(2, 10))}{int(rng.integers(0, 10**7)):07d}"
            else:
                p = MOBILE_PREFIXES[int(rng.integers(len(MOBILE_PREFIXES)))] + f"{int(rng.integers(0, 10**8)):08d}"
            if p not in seen:
                seen.add(p)
                out.append(p)
                break
    return out


def pack_spec(rng: np.random.Generator, generic: str) -> str:
    """A pack size that fits the dosage form of ``generic``."""
    n = lambda *v: v[int(rng.integers(len(v)))]  # noqa: E731
    if generic.endswith(("片", "胶囊", "含片")):
        return f"{n('0.1g', '0.2g', '0.25g', '0.5g')}*{n(12, 20, 24, 30, 60)}{'粒' if '胶囊' in generic else '片'}"
    if generic.endswith(("颗粒", "散", "粉")):
        return f"{n('3g', '5g', '10g')}*{n(6, 9, 10, 12)}袋"
    if generic.endswith(("液", "浆", "露", "口服液", "洗剂", "原浆")):
        return f"{n(60, 100, 120, 150, 250)}ml"
    if generic.endswith(("膏", "乳膏", "凝胶", "霜")):
        return f"{n(10, 15, 20, 30)}g"
    if generic.endswith(("口罩", "手套", "棉片", "湿巾", "乳垫", "纱布", "创可贴", "退热贴")):
        return f"{n(10, 20, 50, 100)}{n('片', '只', '贴')}"
    if generic.endswith(("块", "蛋白粉")):
        return f"{n(250, 400, 500)}g"
    return f"{n(1, 2)}{n('个', '支', '瓶')}"


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(rng: np.random.Generator, admin_code: str) -> str:
    """A unified social credit code (统一社会信用代码), 18 characters, with a valid check character."""
    body = "91" + admin_code[:4] + f"{int(rng.integers(0, 100)):02d}"
    body += "".join(_USCC_CHARS[int(i)] for i in rng.integers(0, len(_USCC_CHARS), 9))
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS))
    check = (31 - total % 31) % 31
    return body + _USCC_CHARS[check]


def bank_branch(rng: np.random.Generator, city: str) -> str:
    bank = BANKS[int(rng.integers(len(BANKS)))]
    road = ROADS[int(rng.integers(len(ROADS)))]
    return f"{bank}{city}{road}路支行"


def bank_account(rng: np.random.Generator) -> str:
    n = int(rng.choice([16, 17, 19]))
    return "6" + "".join(map(str, rng.integers(0, 10, n - 1)))


def address(rng: np.random.Generator, province: str, city: str) -> str:
    road = ROADS[int(rng.integers(len(ROADS)))]
    suffix = rng.choice(["路", "街", "大道"])
    return f"{province}{city}{road}{suffix}{int(rng.integers(1, 999))}号"


def brand_word(rng: np.random.Generator) -> str:
    a, b = rng.choice(len(BRAND_CHARS), 2, replace=False)
    return BRAND_CHARS[a] + BRAND_CHARS[b]


def customer_name(rng: np.random.Generator, channel: str, city: str) -> str:
    brand = brand_word(rng)
    road = ROADS[int(rng.integers(len(ROADS)))]
    if channel == "NATIONAL_WHOLESALER":
        return f"{brand}医药集团{city}有限公司"
    if channel == "REGIONAL_WHOLESALER":
        return f"{city}{brand}医药有限公司"
    if channel == "PHARMACY_CHAIN":
        return f"{city}{brand}大药房连锁有限公司"
    if channel == "SINGLE_PHARMACY":
        return f"{city}{brand}药店{road}店" if rng.random() < 0.5 else f"{city}{brand}大药房"
    if channel == "HOSPITAL_CLINIC":
        return f"{city}{road}社区卫生服务中心" if rng.random() < 0.4 else f"{city}{brand}诊所"
    kind = rng.choice(["便利店", "母婴店", "超市", "保健品商行"])
    return f"{city}{brand}{kind}"
