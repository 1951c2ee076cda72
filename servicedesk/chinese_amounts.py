"""Amounts in Chinese capital numerals (大写金额), as a receipt writes them: ¥100.00 → 壹佰元整.

The rules are the banks' (《支付结算办法》 附件一, 正确填写票据和结算凭证的基本规定):
- a run of zeros inside the figures is written as one 零; zeros at the end of the yuan or of a 万/亿
  group are not written, but a group that starts with zeros after a non-zero group gets a 零
  (100,010 → 壹拾万零壹拾元整);
- 角 zero and 分 not zero: 零 after 元 (325.04 → 叁佰贰拾伍元零肆分);
- an amount that ends at 元 or 角 takes 整; one with 分 does not;
- below one yuan there is no 元 (0.50 → 伍角整); nothing at all is 零元整.
Pure and exact: the amount is a Decimal with at most two decimals, never a float.
"""

from decimal import Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
IN_GROUP = ("", "拾", "佰", "仟")
GROUPS = ("", "万", "亿")
# Below 一万亿: ample for any amount the money columns hold (12 digits with 2 decimals).
LIMIT = Decimal("1000000000000")


def _group(value: int) -> str:
    """0 < value < 10000, written without a leading zero; inner runs of zeros become one 零."""
    out = []
    zero_pending = False
    for position in range(3, -1, -1):
        digit = value // 10**position % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(DIGITS[digit] + IN_GROUP[position])
    return "".join(out)


def _yuan(value: int) -> str:
    groups = []
    while value:
        groups.append(value % 10000)
        value //= 10000
    out = []
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(out)
            continue
        # 壹亿零伍佰万: a group below 1000 after a higher non-zero group reads with a 零.
        if out and (zero_pending or group < 1000):
            out.append("零")
        zero_pending = False
        out.append(_group(group) + GROUPS[index])
    return "".join(out)


def amount_in_capitals(amount: Decimal) -> str:
    """¥1,409.50 → 壹仟肆佰零玖元伍角整. Refuses floats, negatives, fractions of a fen, 一万亿 and above."""
    if not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal")
    if not amount.is_finite() or amount < 0:
        raise ValueError("amount must be a finite amount of at least zero")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount has more than two decimals")
    if amount >= LIMIT:
        raise ValueError("amount is too large")
    fen_total = int(amount * 100)
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    if fen_total == 0:
        return "零元整"
    out = _yuan(yuan) + "元" if yuan else ""
    if jiao:
        out += DIGITS[jiao] + "角"
    elif fen and yuan:
        out += "零"
    if fen:
        out += DIGITS[fen] + "分"
    else:
        out += "整"
    return out
