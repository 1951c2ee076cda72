"""One search box over the calls: number, customer name or phone, serial number, contact, problem text.

Every term must match somewhere in the call (``打印机 卡纸``: both). On PostgreSQL the call's own text
(number, contact, phone as typed and as digits, problem) is one expression with a pg_trgm GIN index
(migration ``records.0002``), and so are the customer's name and phone and the product's serial number; a
term is first looked up among the unit's customers and products (one query for all terms), then each call
term is ``call text ILIKE %term% OR customer_id = ANY(...) OR product_id = ANY(...)``, which PostgreSQL
answers by OR-ing and AND-ing bitmap index scans: the calls table is never read row by row.

Trigrams need three characters: a term of one or two characters (a two-character Chinese word like 卡纸)
cannot use the index. It is tested column by column (not on the indexed expression, so the planner does not
scan the index for it) on the rows the other terms found; a search of short terms only reads at most
``records.selectors.SHORT_SEARCH_WINDOW`` calls per page in the list's order (newest first, an index range) and
the next page reads on from there. A term without upper/lower case (Chinese, digits) uses ``LIKE``, which is the
same test as ``ILIKE`` and much cheaper per row. On SQLite every condition is a plain ``LIKE``.

Serial numbers are Latin letters and digits: a term with neither is not looked for among them.
Phone numbers match whatever spaces, dashes and brackets either side has: digits are compared with digits.
Ranking: calls whose number, product serial or phone equals the whole search come first. A search that is a
whole call number (``RC-2026-000123``) and finds that call shows that call only: every call's text holds the
number's trigrams (``RC-``, ``202``…), so looking for it in the other calls' text would read the index's longest
lists for what is, in practice, never there.
"""

import re
from dataclasses import dataclass

# The expressions the GIN indexes are built on (records/migrations/0002_search_indexes.py uses these strings):
# the query must use the very same expression for PostgreSQL to use the index.
# Nested replace() (not translate()) so SQLite runs the same expression.
PHONE_DIGITS = "replace(replace(replace(replace(replace({col}, ' ', ''), '-', ''), '(', ''), ')', ''), '+', '')"
CALL_TEXT = (
    "(number || ' ' || contact_name || ' ' || contact_phone || ' ' || "
    + PHONE_DIGITS.format(col="contact_phone")
    + " || ' ' || problem)"
)
CUSTOMER_TEXT = "(name || ' ' || phone || ' ' || " + PHONE_DIGITS.format(col="phone") + ")"

# The columns behind those expressions, for terms too short for the index (tested one by one).
CALL_COLUMNS = ("number", "contact_name", "contact_phone", "problem")
CUSTOMER_COLUMNS = ("name", "phone")

MAX_TERMS = 8
MAX_IDS_PER_TERM = 1000  # more matching customers/products than this: the term asks the tables directly
MAX_EXACT = 200
PHONE_RE = re.compile(r"^\+?[\d\s\-()]{6,40}$")
PHONEISH_RE = re.compile(r"^\+?[\d\-()]+$")
INDEXED_LENGTH = 3  # pg_trgm's trigram
SERIAL_CHARACTER_RE = re.compile(r"[A-Za-z0-9]")
CALL_NUMBER_RE = re.compile(r"^RC-\d{4}-\d{6,}$", re.IGNORECASE)  # servicedesk.numbering's series "RC"


@dataclass(frozen=True)
class Term:
    text: str
    digits: str = ""  # set when the term is a phone number (or part of one): compared digit by digit

    @property
    def indexed(self) -> bool:
        return len(self.text) >= INDEXED_LENGTH or len(self.digits) >= INDEXED_LENGTH


def parse(q: str) -> list[Term]:
    """The terms of a search; a whole search that is a phone number (spaces and dashes included) is one term."""
    q = " ".join((q or "").split())
    if not q:
        return []
    if PHONE_RE.match(q):
        digits = re.sub(r"\D", "", q)
        if len(digits) >= 6:
            return [Term(text=q, digits=digits)]
    terms = []
    for token in dict.fromkeys(q.split()):  # a repeated term adds nothing
        digits = re.sub(r"\D", "", token) if PHONEISH_RE.match(token) else ""
        terms.append(Term(text=token, digits=digits if len(digits) >= INDEXED_LENGTH else ""))
    return terms[:MAX_TERMS]


def may_be_in_a_serial(term: Term) -> bool:
    """Serial numbers are written in Latin letters and digits: a term with neither (a Chinese word) is not looked
    for among them (for a word too short for the trigram index, that look-up reads every product)."""
    return bool(SERIAL_CHARACTER_RE.search(term.text))


def is_call_number(term: Term) -> bool:
    return bool(CALL_NUMBER_RE.match(term.text))


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def qualified(expression: str, table: str) -> str:
    """The index expression with its columns named by table (the calls query joins other tables)."""
    return re.sub(
        r"\b(number|contact_name|contact_phone|problem|name|phone|serial_number)\b",
        lambda m: f'"{table}"."{m.group(1)}"',
        expression,
    )


def qualified_columns(columns, table: str) -> tuple:
    return tuple(f'"{table}"."{c}"' for c in columns)
