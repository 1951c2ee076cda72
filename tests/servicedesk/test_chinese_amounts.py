import re
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from servicedesk.chinese_amounts import DIGITS, LIMIT, amount_in_capitals

# Examples from the banks' rules for writing amounts (支付结算办法 附件一) and common receipts.
CASES = [
    ("0.00", "零元整"),
    ("0.05", "伍分"),
    ("0.50", "伍角整"),
    ("0.56", "伍角陆分"),
    ("1.00", "壹元整"),
    ("10.00", "壹拾元整"),
    ("100.00", "壹佰元整"),
    ("101.00", "壹佰零壹元整"),
    ("110.00", "壹佰壹拾元整"),
    ("200.50", "贰佰元伍角整"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("1000.05", "壹仟元零伍分"),
    ("1409.50", "壹仟肆佰零玖元伍角整"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("10000.00", "壹万元整"),
    ("10001.00", "壹万零壹元整"),
    ("100010.00", "壹拾万零壹拾元整"),
    ("107000.53", "壹拾万柒仟元伍角叁分"),
    ("1010101.01", "壹佰零壹万零壹佰零壹元零壹分"),
    ("10000000.00", "壹仟万元整"),
    ("100000000.00", "壹亿元整"),
    ("100000001.00", "壹亿零壹元整"),
    ("100010000.00", "壹亿零壹万元整"),
    ("110000000.00", "壹亿壹仟万元整"),
    ("100001000.00", "壹亿零壹仟元整"),
    ("9999999999.99", "玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
]


@pytest.mark.parametrize(("figures", "capitals"), CASES)
def test_amounts_are_written_as_the_banks_rules_say(figures, capitals):
    assert amount_in_capitals(Decimal(figures)) == capitals


@pytest.mark.parametrize("bad", [Decimal("-0.01"), Decimal("1.005"), Decimal("NaN"), Decimal("Infinity"), LIMIT])
def test_negative_fractional_infinite_and_huge_amounts_are_refused(bad):
    with pytest.raises(ValueError):
        amount_in_capitals(bad)


def test_a_float_is_refused():
    with pytest.raises(TypeError):
        amount_in_capitals(100.0)


UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def _read_group(text: str) -> int:
    """Read back 壹仟零伍拾 (a group below 万): an independent reader, not the writer reversed."""
    value = 0
    for digit, unit in re.findall(r"([壹贰叁肆伍陆柒捌玖])([拾佰仟]?)", text.replace("零", "")):
        value += DIGITS.index(digit) * UNITS.get(unit, 1)
    return value


def read_capitals(text: str) -> Decimal:
    if text == "零元整":
        return Decimal("0.00")
    yuan_text, _, fraction = text.rpartition("元") if "元" in text else ("", "", text)
    yuan = 0
    rest = yuan_text
    for marker, scale in (("亿", 10**8), ("万", 10**4)):
        if marker in rest:
            head, rest = rest.split(marker, 1)
            yuan += _read_group(head) * scale
    yuan += _read_group(rest)
    jiao = re.search(r"([壹贰叁肆伍陆柒捌玖])角", fraction)
    fen = re.search(r"([壹贰叁肆伍陆柒捌玖])分", fraction)
    cents = (DIGITS.index(jiao.group(1)) * 10 if jiao else 0) + (DIGITS.index(fen.group(1)) if fen else 0)
    return Decimal(yuan) + Decimal(cents) / 100


amounts = st.decimals(min_value=Decimal("0"), max_value=LIMIT - Decimal("0.01"), places=2)


@given(amounts)
@example(Decimal("100010000.10"))
@example(Decimal("0.01"))
def test_the_capitals_read_back_as_the_same_amount(amount):
    assert read_capitals(amount_in_capitals(amount)) == amount


@given(amounts)
def test_the_capitals_follow_the_writing_rules(amount):
    text = amount_in_capitals(amount)
    assert "零零" not in text  # a run of zeros is one 零
    assert not re.search("零[元万亿角分整]", text) or text == "零元整"  # no zero before a unit or at the end
    assert text.endswith("分") != text.endswith("整")  # 整 exactly when there is no 分
    assert (text.startswith("零")) == (amount == 0)
    assert ("元" in text) == (amount >= 1 or amount == 0)
    assert set(text) <= set(DIGITS + "拾佰仟万亿元角分整")


@given(amounts)
def test_amounts_with_the_same_yuan_share_the_yuan_part(amount):
    yuan = amount.to_integral_value(rounding="ROUND_FLOOR")
    if yuan >= 1:
        whole = amount_in_capitals(Decimal(yuan).quantize(Decimal("0.01")))
        assert amount_in_capitals(amount).startswith(whole.removesuffix("整"))
