"""The privacy guard on public text: what it must flag and what it must not."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charitylink.core.text_guard import (
    KINDS,
    Finding,
    findings_message,
    scan,
    scan_fields,
)

ZW = "\u200b"  # zero-width space, a favourite way to slip a number past a filter
FW = {c: c - 0x30 + 0xFF10 for c in range(0x30, 0x3A)}  # ASCII digits to full width

# (text, kind, excerpt): each text contains exactly one finding.
POSITIVE = [
    # Citizen ID numbers: valid, spaced, full-width, zero-width, lower-case x.
    ("身份证号11010519491231002X。", "id_number", "11010519491231002X"),
    ("身份证号 440524188001010014", "id_number", "440524188001010014"),
    ("身份证号11010519491231002x", "id_number", "11010519491231002x"),
    ("号码 110105 19491231 002X 备注", "id_number", "110105 19491231 002X"),
    ("号码 1101 0519 4912 3100 2X", "id_number", "1101 0519 4912 3100 2X"),
    ("号码110105-19491231-002X", "id_number", "110105-19491231-002X"),
    (
        "号码１１０１０５１９４９１２３１００２Ｘ",
        "id_number",
        "１１０１０５１９４９１２３１００２Ｘ",
    ),
    (f"号码110105{ZW}1949{ZW}1231002X", "id_number", f"110105{ZW}1949{ZW}1231002X"),
    # Wrong check, impossible date, 15-digit first generation, 17 digits + X.
    ("号码110105194912310021", "id_number", "110105194912310021"),
    ("号码110105194902310026", "id_number", "110105194902310026"),
    ("号码110105491231002", "id_number", "110105491231002"),
    ("号码11010519491231003X", "id_number", "11010519491231003X"),
    # Mobiles.
    ("电话13812345678", "mobile", "13812345678"),
    ("电话 138 1234 5678 联系", "mobile", "138 1234 5678"),
    ("电话138-1234-5678", "mobile", "138-1234-5678"),
    ("电话 +86 138-1234-5678", "mobile", "+86 138-1234-5678"),
    ("电话+8613812345678", "mobile", "+8613812345678"),
    ("电话 0086 13812345678", "mobile", "0086 13812345678"),
    ("电话１３８１２３４５６７８", "mobile", "１３８１２３４５６７８"),
    (
        "电话＋８６ １３８ １２３４ ５６７８",
        "mobile",
        "＋８６ １３８ １２３４ ５６７８",
    ),
    (f"电话138{ZW}1234{ZW}5678", "mobile", f"138{ZW}1234{ZW}5678"),
    ("电话 138 12 34 56 78", "mobile", "138 12 34 56 78"),
    ("电话19212345678", "mobile", "19212345678"),
    # Landlines.
    ("座机010-12345678", "landline", "010-12345678"),
    ("座机 0755 8888 9999", "landline", "0755 8888 9999"),
    ("座机07558888999", "landline", "07558888999"),
    ("座机０２１－６１２３４５６７", "landline", "０２１－６１２３４５６７"),
    (f"座机010{ZW}12345678", "landline", f"010{ZW}12345678"),
    ("座机(010)12345678", "landline", "(010)12345678"),
    ("电话（+86）138 1234 5678", "mobile", "（+86）138 1234 5678"),
    # Bank cards (Luhn-valid) and other long numbers.
    ("卡号6212260200000000006", "bank_card", "6212260200000000006"),
    ("卡号 6222 0200 0000 0007 开户", "bank_card", "6222 0200 0000 0007"),
    (
        "卡号" + "6222020000000007".translate(FW),
        "bank_card",
        "6222020000000007".translate(FW),
    ),
    (f"卡号6222{ZW}0200{ZW}0000{ZW}0007", "bank_card", f"6222{ZW}0200{ZW}0000{ZW}0007"),
    ("卡号6212260200000000001", "long_number", "6212260200000000001"),
    ("账号1234567890123456", "long_number", "1234567890123456"),
    # E-mail.
    ("邮箱 zhang.san@163.com 联系", "email", "zhang.san@163.com"),
    ("邮箱ｚｈａｎｇ＠ｑｑ．ｃｏｍ", "email", "ｚｈａｎｇ＠ｑｑ．ｃｏｍ"),
    (f"邮箱zhang{ZW}@qq.com", "email", f"zhang{ZW}@qq.com"),
    # Precise addresses.
    ("住幸福小区3号楼2单元501室", "address", "3号楼2单元501室"),
    ("家住人民路12号", "address", "人民路12号"),
    ("位于建设大街5号院", "address", "建设大街5号院"),
    ("住在5栋", "address", "5栋"),
    ("住在12幢", "address", "12幢"),
    ("住在6楼", "address", "6楼"),
    ("住在3门", "address", "3门"),
    ("上海某某路123弄", "address", "上海某某路123弄"),
    ("住三单元", "address", "三单元"),
    ("住三栋二单元", "address", "三栋二单元"),
    ("住二号楼", "address", "二号楼"),
    ("家住王家村3组", "address", "王家村3组"),
    ("李庄村五组的老人", "address", "李庄村五组"),
    ("门牌号：幸福路88号", "address", "门牌号：幸福路88号"),
    ("住１２号楼", "address", "１２号楼"),
    (f"住3{ZW}号楼", "address", f"3{ZW}号楼"),
    # Labelled QQ numbers and WeChat IDs.
    ("加QQ：12345678 咨询", "qq", "QQ：12345678"),
    ("微信：zhang_san88 联系", "wechat", "微信：zhang_san88"),
    # The household's own name.
    ("户主张三患病", "name", "张三"),
    ("户主张 三患病", "name", "张 三"),
    (f"户主张{ZW}三患病", "name", f"张{ZW}三"),
]


@pytest.mark.parametrize(("text", "kind", "excerpt"), POSITIVE)
def test_personal_data_is_flagged(text: str, kind: str, excerpt: str) -> None:
    findings = scan(text, household_names=["张三"])
    assert [(f.kind, f.excerpt) for f in findings] == [(kind, excerpt)]
    finding = findings[0]
    assert text[finding.start : finding.end] == finding.excerpt
    assert finding.message.startswith("包含") and finding.message.endswith("，请删除。")


NEGATIVE = [
    "需求金额 12000 元",
    "需求金额12000元，已筹 3500.50 元",
    "2024年3月",
    "每月 450 元",
    "12个月",
    "3口之家",
    "患病3年",
    "2024-03-15 至 2024-12-31",
    "2024-03-15 2024-12-31",
    "2024.03.15",
    "2024/03/15",
    "¥12,000.50，1,234.50元，100%",
    "2019年至2023年",
    "每月5号发放",
    "3月 5号到期",
    "依据民发〔2023〕15号文件",
    "乘地铁3号线",
    "穿38号鞋",
    "第三单元考试",
    "语文第3单元",
    "学了2门功课",
    "住房是2室1厅",
    "家里有一栋房子",
    "两栋楼",
    "分3组活动",
    "农村低保家庭，村委会证明",
    "认领机构 91110000600037341L",
    "认领机构统一社会信用代码：5311000050000012XN",
    "孩子12岁，上初一，体重35公斤",
    "需求：学费 12000 元 生活费 3000 元 书本费 800 元",
    "共 3 人，2 位老人",
    "张某某一家",  # only exact names are matched
    "",
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_ordinary_amounts_dates_and_counts_are_not_flagged(text: str) -> None:
    assert scan(text, household_names=["张三", "李四"]) == []


def test_amount_next_to_a_phone_is_not_swallowed_into_the_number() -> None:
    findings = scan("联系 13812345678 需求 12000 元")
    assert [(f.kind, f.excerpt) for f in findings] == [("mobile", "13812345678")]


def test_findings_are_sorted_without_overlap_and_positions_point_into_original() -> (
    None
):
    text = f"张三，电话１３８{ZW}１２３４５６７８，身份证11010519491231002X，住3号楼"
    findings = scan(text, household_names=["张三"])
    assert [f.kind for f in findings] == ["name", "mobile", "id_number", "address"]
    for f in findings:
        assert text[f.start : f.end] == f.excerpt
    for a, b in zip(findings, findings[1:], strict=False):
        assert a.end <= b.start


def test_id_number_prefers_the_specific_kind_over_long_number() -> None:
    (finding,) = scan("11010519491231002X")
    assert finding.kind == "id_number"
    assert finding.message == "包含身份证号码「110105…002X」，请删除。"


def test_suspect_id_message_says_suspected() -> None:
    (finding,) = scan("110105194912310021")
    assert finding.message == "包含疑似身份证号码「110105…0021」，请删除。"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("13812345678", "包含手机号码「138****5678」，请删除。"),
        ("+86 138 1234 5678", "包含手机号码「138****5678」，请删除。"),
        ("010-12345678", "包含固定电话「010-******78」，请删除。"),
        ("6212260200000000006", "包含银行卡号「621226…0006」，请删除。"),
        ("zhang@qq.com", "包含电子邮箱「zhang@qq.com」，请删除。"),
        ("住3号楼2单元", "包含详细地址「3号楼2单元」，请删除。"),
    ],
)
def test_messages_quote_the_text_masking_numbers(text: str, message: str) -> None:
    (finding,) = scan(text)
    assert finding.message == message


def test_messages_never_repeat_a_full_number() -> None:
    numbers = ["11010519491231002X", "13812345678", "6212260200000000006"]
    findings = scan("、".join(numbers) + "、13812345678@163.com")
    assert len(findings) == 4
    for f in findings:
        for number in numbers:
            assert number not in f.message


def test_email_wins_over_the_phone_inside_it() -> None:
    (finding,) = scan("13812345678@163.com")
    assert finding.kind == "email"
    assert finding.message == "包含电子邮箱「138****5678@163.com」，请删除。"


def test_each_household_name_is_matched_and_short_names_ignored() -> None:
    text = "王五和赵六一起，王某照顾"
    findings = scan(text, household_names=["王五", "赵六", "王", ""])
    assert [f.excerpt for f in findings] == ["王五", "赵六"]
    assert findings[0].message == "包含受助家庭成员姓名「王五」，请删除。"


def test_full_width_household_name_matches() -> None:
    assert [f.excerpt for f in scan("Tom Lee 的家", ["Ｔｏｍ Ｌｅｅ"])] == ["Tom Lee"]


def test_every_kind_is_listed() -> None:
    kinds = {kind for _, kind, _ in POSITIVE}
    assert kinds == set(KINDS)


def test_findings_message_joins_into_one_sentence() -> None:
    findings = scan("张三 13812345678 11010519491231002X 张三", ["张三"])
    assert findings_message(findings) == (
        "公开内容包含个人信息，请删除：受助家庭成员姓名「张三」；"
        "手机号码「138****5678」；身份证号码「110105…002X」。"
    )


def test_findings_message_single_and_empty() -> None:
    assert findings_message([]) == ""
    single = [
        Finding("mobile", "13812345678", 0, 11, "包含手机号码「138****5678」，请删除。")
    ]
    assert findings_message(single) == "包含手机号码「138****5678」，请删除。"


def test_long_text_is_scanned_quickly() -> None:
    text = "需求金额 12000 元，2024年3月起每月 450 元。" * 500 + "电话13812345678"
    findings = scan(text)
    assert [f.kind for f in findings] == ["mobile"]


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet="0123456789138 -+()X@a.号楼村组门牌张三\u200b１８＋－"
        "一三九〇十百两,/_\n·歐陽欧阳QQ微信:١",
        max_size=80,
    )
)
def test_scan_never_fails_and_findings_are_consistent(text: str) -> None:
    findings = scan(text, household_names=["张三"])
    for f in findings:
        assert f.kind in KINDS
        assert text[f.start : f.end] == f.excerpt
        assert f.excerpt and f.message
    for a, b in zip(findings, findings[1:], strict=False):
        assert a.end <= b.start


# ----------------------------------------------------------------------------
# Ways around the guard (the penetration test's finding 5): each is refused.
# ----------------------------------------------------------------------------

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
HOUSEHOLD = ["欧阳金丝"]

# (text, kind, excerpt as typed)
BYPASSES = [
    ("电话139.1234.5678", "mobile", "139.1234.5678"),
    ("电话 1 3 9 1 2 3 4 5 6 7 8 谢谢", "mobile", "1 3 9 1 2 3 4 5 6 7 8"),
    ("电话一三九一二三四五六七八", "mobile", "一三九一二三四五六七八"),
    ("电话幺三九〇〇〇〇一一一一", "mobile", "幺三九〇〇〇〇一一一一"),
    ("电话139一二三四5678", "mobile", "139一二三四5678"),
    ("电话139/1234/5678", "mobile", "139/1234/5678"),
    ("电话139,1234,5678", "mobile", "139,1234,5678"),
    ("电话139_1234_5678", "mobile", "139_1234_5678"),
    ("电话139、1234、5678", "mobile", "139、1234、5678"),
    ("电话" + "13912345678".translate(ARABIC_INDIC), "mobile", "١٣٩١٢٣٤٥٦٧٨"),
    ("电话 +86.139.1234.5678", "mobile", "+86.139.1234.5678"),
    ("电话 +86.13912345678", "mobile", "+86.13912345678"),
    (
        "电话1\u200c3\u200d9\u20601234\ufeff5678",
        "mobile",
        "1\u200c3\u200d9\u20601234\ufeff5678",
    ),
    ("电话139\udfff1234\ud8005678", "mobile", "139\udfff1234\ud8005678"),
    ("电话1\u03033\u03049\u20dd12345678", "mobile", "1\u03033\u03049\u20dd12345678"),
    (
        "身份证一一零一零五一九四九一二三一零零二X",
        "id_number",
        "一一零一零五一九四九一二三一零零二X",
    ),
    ("身份证号\n110105\n19491231\n002X\n", "id_number", "110105\n19491231\n002X"),
    ("身份证号110105.19491231.002X", "id_number", "110105.19491231.002X"),
    ("身份证号110105/19491231/002X", "id_number", "110105/19491231/002X"),
    ("卡号6222.0200.0000.0007", "bank_card", "6222.0200.0000.0007"),
    ("户主欧·阳金丝", "name", "欧·阳金丝"),
    ("户主歐陽金絲", "name", "歐陽金絲"),
    ("户主欧 阳 金 丝", "name", "欧 阳 金 丝"),
    ("户主欧-阳-金-丝", "name", "欧-阳-金-丝"),
    ("家住幸福路十二号", "address", "幸福路十二号"),
    ("住三号楼二单元五零一室", "address", "三号楼二单元五零一室"),
    ("家住王家村三组", "address", "王家村三组"),
    ("QQ 123456789", "qq", "QQ 123456789"),
    ("qq号:987654321", "qq", "qq号:987654321"),
    ("VX：abc_12345", "wechat", "VX：abc_12345"),
    ("vx abc12345", "wechat", "vx abc12345"),
    ("wx:hello_world", "wechat", "wx:hello_world"),
    ("微信号 zhangsan2024", "wechat", "微信号 zhangsan2024"),
    # 两 as a digit inside a long run, full-width with ideographic spaces,
    # single digits split by dashes, financial numerals.
    ("电话一三八两二三四五六七八", "mobile", "一三八两二三四五六七八"),
    ("电话幺三八两两三四五六七八", "mobile", "幺三八两两三四五六七八"),
    (
        "电话１３８\u3000１２３４\u3000５６７８",
        "mobile",
        "１３８\u3000１２３４\u3000５６７８",
    ),
    ("电话1-3-8-1-2-3-4-5-6-7-8", "mobile", "1-3-8-1-2-3-4-5-6-7-8"),
    ("电话壹叁捌壹贰叁肆伍陆柒捌", "mobile", "壹叁捌壹贰叁肆伍陆柒捌"),
    # QQ and WeChat written apart, with zero-width characters or numerals.
    ("q q 123456789", "qq", "q q 123456789"),
    ("QQ 1 2 3 4 5 6 7 8 9", "qq", "QQ 1 2 3 4 5 6 7 8 9"),
    ("Q\u200bQ：123456789", "qq", "Q\u200bQ：123456789"),
    ("QQ号：一二三四五六七八九", "qq", "QQ号：一二三四五六七八九"),
    ("微 信 abc12345", "wechat", "微 信 abc12345"),
    ("微\u200b信 abc12345", "wechat", "微\u200b信 abc12345"),
    # The household's name split by any separator or a zero-width character.
    ("户主欧*阳*金*丝", "name", "欧*阳*金*丝"),
    ("户主欧.阳.金.丝", "name", "欧.阳.金.丝"),
    ("户主欧\u200b阳金丝", "name", "欧\u200b阳金丝"),
]


@pytest.mark.parametrize(("text", "kind", "excerpt"), BYPASSES)
def test_obfuscated_personal_data_is_still_found(
    text: str, kind: str, excerpt: str
) -> None:
    findings = scan(text, household_names=HOUSEHOLD)
    assert [(f.kind, f.excerpt) for f in findings] == [(kind, excerpt)]
    finding = findings[0]
    assert text[finding.start : finding.end] == excerpt


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("电话一三九一二三四五六七八", "「一三九…五六七八」"),
        ("电话139.1234.5678", "「139…5678」"),
        ("户主歐陽金絲患病", "「歐陽金絲」"),
        ("家住幸福路十二号", "「幸福路十二号」"),
    ],
)
def test_message_quotes_the_text_as_typed(text: str, quoted: str) -> None:
    [finding] = scan(text, household_names=HOUSEHOLD)
    assert quoted in finding.message


BENIGN = [
    "捐款¥3,000，已到账",
    "¥3,000、¥5,000 和 ¥8,000 三档",
    "分别为 3000，5000，8000，12000，20000 元",
    "2026-12-01 开始，2026/12/31 结束",
    "2026.12.01—2027.01.31",
    "2019, 2020, 2021, 2022 年连续资助",
    "二〇二六年十二月一日",
    "一九九八年出生，今年六十五岁",
    "老人今年 78 岁，家庭人口 4 人",
    "一家三口，三口之家，两位老人",
    "十二个月，每月三百元",
    "共资助一千二百户家庭",
    "12:30-13:30 发放，时间 09:00",
    "完成率 7.5%，版本 v1.2.3",
    "第一单元、一楼大厅、住在一楼",
    "关注微信公众号，使用微信支付",
    "加入QQ群",
    "微信 WeChat 转账",
    "七八个人，三四十岁",
    "千万不要错过",
    "批次 2024/001、2024/002",
    "两三个人，一两个月，三两天",
    "微信同号",
]


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_numbers_in_every_script_are_not_flagged(text: str) -> None:
    assert scan(text, household_names=HOUSEHOLD + ["王一", "李三"]) == []


def test_names_holding_numerals_are_still_matched() -> None:
    text = "王一和李三一起"
    assert [f.excerpt for f in scan(text, household_names=["王一", "李三"])] == [
        "王一",
        "李三",
    ]


def test_allowed_contact_numbers_are_not_findings() -> None:
    text = "机构热线 0431-88886666，手机 139 1234 5678，邮箱 info@aixin.org"
    assert [f.kind for f in scan(text)] == ["landline", "mobile", "email"]
    allowed = ["0431-88886666", "13912345678", "INFO@aixin.org"]
    assert scan(text, allowed=allowed) == []
    # Only the org's own numbers: another phone is still refused.
    other = text + "，户主电话13812345678"
    assert [f.kind for f in scan(other, allowed=allowed)] == ["mobile"]


def test_a_number_split_between_fields_is_found_in_both() -> None:
    messages = scan_fields(
        [("title", "标题", "求助：电话139 1234"), ("description", "描述", "5678 谢谢")]
    )
    assert set(messages) == {"title", "description"}
    assert "139****5678" in messages["title"]
    assert "「描述」" in messages["title"] and "「标题」" in messages["description"]


def test_a_name_split_between_fields_is_found() -> None:
    messages = scan_fields(
        [("title", "标题", "感谢欧阳"), ("summary", "简介", "金丝一家")],
        household_names=HOUSEHOLD,
    )
    assert set(messages) == {"title", "summary"}


def test_clean_fields_give_no_messages() -> None:
    fields = [("title", "标题", "助学项目 2026"), ("body", "详情", "资助 30 名学生")]
    assert scan_fields(fields, household_names=HOUSEHOLD) == {}


ADVERSARIAL = [
    "1 " * 50,
    "1" * 100,
    "1.1," * 25,
    "一" * 100,
    "一十" * 50,
    "村 " * 50,
    "a@" + "b." * 50,
    "QQ" * 50,
    "微信:a" * 20,
    "号" * 100,
    "1号" * 50,
    "欧·阳" * 50,
    "\u200b1" * 100,
    "QQ 1 " * 20,
    "q q" + "1." * 20,
    "微 信 a" * 20,
    "一三八两" * 25,
    "两" * 100,
]


@pytest.mark.slow
@pytest.mark.parametrize("unit", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_scan_time_grows_linearly(unit: str) -> None:
    """10× the text may cost at most 30× the time (linear with a generous
    margin; quadratic would be 100×). Best of five runs each: on a busy machine
    one run in three is often slowed by other work."""

    def cost(size: int) -> float:
        text = (unit * (size // len(unit) + 1))[:size]
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            scan(text, household_names=HOUSEHOLD)
            best = min(best, time.perf_counter() - start)
        return best

    small, large = cost(10_000), cost(100_000)
    assert large <= 30 * max(small, 1e-3), (small, large)
