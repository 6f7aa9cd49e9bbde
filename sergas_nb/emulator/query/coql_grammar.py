"""COQL's grammar (lark, LALR) and the parse into a small query model.

One binary ``and``/``or`` per bracket level: Zoho requires brackets once a where clause has more
than two conditions (COQL-Limitations: "use them as (A and (B and C)) or ((A and B) and C)"), so
``a and b and c`` is a syntax error here exactly as it is there.

Aggregates (COQL-Overview): ``COUNT SUM MIN MAX AVG`` over one column, ``AS`` aliases, ``GROUP BY``,
and ``ORDER BY`` on a grouped column, an aggregate or an alias. Brackets nested deeper than
``MAX_NESTING`` are refused before parsing, so no query can exhaust the parser's stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from sergas_nb.emulator.errors import EmulatorError

GRAMMAR = r"""
    start: SELECT columns FROM NAME where? group? order? limit? offset?

    columns: column ("," column)*
    column: expr (AS NAME)?
    ?expr: ref | aggregate
    aggregate: (COUNT | SUM | MIN | MAX | AVG) "(" ref ")"
    group: GROUP BY ref ("," ref)*

    where: WHERE cond
    ?cond: operand
         | operand AND operand   -> and_
         | operand OR operand    -> or_
    ?operand: comparison
            | "(" cond ")"

    comparison: ref CMP value                         -> cmp
              | ref BETWEEN value AND value           -> between
              | ref NOT BETWEEN value AND value       -> not_between
              | ref IN "(" value ("," value)* ")"     -> in_
              | ref NOT IN "(" value ("," value)* ")" -> not_in
              | ref LIKE value                        -> like
              | ref NOT LIKE value                    -> not_like
              | ref IS NULL                           -> is_null
              | ref IS NOT NULL                       -> is_not_null

    ref: path | STRING
    path: NAME ("." NAME)*
    value: STRING -> string
         | NUMBER -> number
         | TRUE   -> true
         | FALSE  -> false
         | NULL   -> null

    order: ORDER BY sort_key ("," sort_key)*
    sort_key: expr direction?
    direction: ASC | DESC
    limit: LIMIT INT                 -> limit_n
         | LIMIT INT "," INT         -> limit_mn
         | LIMIT INT OFFSET INT      -> limit_offset
    offset: OFFSET INT

    SELECT: "select"i
    FROM: "from"i
    WHERE: "where"i
    AND: "and"i
    OR: "or"i
    NOT: "not"i
    BETWEEN: "between"i
    IN: "in"i
    LIKE: "like"i
    IS: "is"i
    NULL: "null"i
    TRUE: "true"i
    FALSE: "false"i
    ORDER: "order"i
    GROUP: "group"i
    AS: "as"i
    COUNT: "count"i
    SUM: "sum"i
    MIN: "min"i
    MAX: "max"i
    AVG: "avg"i
    BY: "by"i
    ASC: "asc"i
    DESC: "desc"i
    LIMIT: "limit"i
    OFFSET: "offset"i

    NAME: /\$?[A-Za-z_][A-Za-z0-9_]*/  # $se_module: see coql._SE_MODULE
    CMP: "!=" | "<>" | ">=" | "<=" | "=" | ">" | "<"
    INT: /\d+/
    NUMBER: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
    STRING: /'(?:[^'\\]|''|\\.)*'/ | /"(?:[^"\\]|""|\\.)*"/

    %import common.WS
    %ignore WS
"""


SYNTAX_MESSAGE = "invalid query formed"
MAX_NESTING = 50  # bracket depth; 25 criteria never need more than 24 levels


@dataclass(frozen=True)
class Ref:
    """A column as written (``Owner.email``) and its dot-separated parts."""

    text: str
    parts: tuple[str, ...]
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Aggregate:
    """``SUM(Annual_Revenue)``: the function (upper case) over one column."""

    func: str
    ref: Ref

    @property
    def text(self) -> str:
        """The answer's key for this column when it has no alias."""
        return f"{self.func}({self.ref.text})"


@dataclass(frozen=True)
class Selected:
    """One item of the select list: a column or an aggregate, and its alias if any."""

    expr: Ref | Aggregate
    alias: str | None = None


@dataclass(frozen=True)
class Compare:
    ref: Ref
    op: str  # = != > >= < <= between not_between in not_in like not_like is_null is_not_null
    values: tuple[Any, ...]  # python values; strings unquoted, numbers as int/float


@dataclass(frozen=True)
class Logic:
    op: str  # "and" | "or"
    left: Compare | Logic
    right: Compare | Logic


@dataclass
class Query:
    columns: list[Selected]
    module: str
    where: Compare | Logic | None = None
    group: list[Ref] = field(default_factory=list)
    order: list[tuple[Ref | Aggregate, bool]] = field(default_factory=list)  # (column, descending)
    limit: int | None = None
    offset: int | None = None


def _unquote(token: str) -> str:
    quote = token[0]
    body = token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            out.append(body[i + 1])
            i += 2
            continue
        if char == quote and i + 1 < len(body) and body[i + 1] == quote:
            out.append(quote)  # '' inside '...' is one quote (Zoho's documented escape)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


class _NullValue:
    """Marker for the literal ``null`` (distinct from Python None = 'no value given')."""

    def __repr__(self) -> str:
        return "null"


NULL = _NullValue()


@v_args(inline=True)
class _Build(Transformer):
    def string(self, token: Token) -> str:
        return _unquote(str(token))

    def number(self, token: Token) -> int | float:
        text = str(token)
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text)

    def true(self, _: Token) -> bool:
        return True

    def false(self, _: Token) -> bool:
        return False

    def null(self, _: Token) -> _NullValue:
        return NULL

    def path(self, *names: Token) -> Ref:
        first = names[0]
        return Ref(".".join(str(n) for n in names), tuple(str(n) for n in names), first.line or 0, first.column or 0)

    def ref(self, item: Ref | Token) -> Ref:
        if isinstance(item, Ref):
            return item
        name = _unquote(str(item))  # 'External': a quoted (reserved-word) column name
        return Ref(name, tuple(name.split(".")), item.line or 0, item.column or 0)

    def aggregate(self, func: Token, ref: Ref) -> Aggregate:
        return Aggregate(str(func).upper(), ref)

    def column(self, expr: Ref | Aggregate, _as: Token | None = None, alias: Token | None = None) -> Selected:
        return Selected(expr, str(alias) if alias is not None else None)

    def columns(self, *cols: Selected) -> list[Selected]:
        return list(cols)

    def group(self, _group: Token, _by: Token, *refs: Ref) -> tuple[str, Any]:
        return ("group", list(refs))

    def cmp(self, ref: Ref, op: Token, value: Any) -> Compare:
        symbol = "!=" if str(op) == "<>" else str(op)
        return Compare(ref, symbol, (value,))

    def between(self, ref: Ref, _kw: Token, low: Any, _and: Token, high: Any) -> Compare:
        return Compare(ref, "between", (low, high))

    def not_between(self, ref: Ref, _not: Token, _kw: Token, low: Any, _and: Token, high: Any) -> Compare:
        return Compare(ref, "not_between", (low, high))

    def in_(self, ref: Ref, _kw: Token, *values: Any) -> Compare:
        return Compare(ref, "in", values)

    def not_in(self, ref: Ref, _not: Token, _kw: Token, *values: Any) -> Compare:
        return Compare(ref, "not_in", values)

    def like(self, ref: Ref, _kw: Token, value: Any) -> Compare:
        return Compare(ref, "like", (value,))

    def not_like(self, ref: Ref, _not: Token, _kw: Token, value: Any) -> Compare:
        return Compare(ref, "not_like", (value,))

    def is_null(self, ref: Ref, _is: Token, _null: Token) -> Compare:
        return Compare(ref, "is_null", ())

    def is_not_null(self, ref: Ref, _is: Token, _not: Token, _null: Token) -> Compare:
        return Compare(ref, "is_not_null", ())

    def and_(self, left: Any, _op: Token, right: Any) -> Logic:
        return Logic("and", left, right)

    def or_(self, left: Any, _op: Token, right: Any) -> Logic:
        return Logic("or", left, right)

    def where(self, _kw: Token, cond: Any) -> tuple[str, Any]:
        return ("where", cond)

    def direction(self, token: Token) -> bool:
        return str(token).lower() == "desc"

    def sort_key(self, expr: Ref | Aggregate, descending: bool = False) -> tuple[Ref | Aggregate, bool]:
        return (expr, descending)

    def order(self, _order: Token, _by: Token, *keys: tuple[Ref | Aggregate, bool]) -> tuple[str, Any]:
        return ("order", list(keys))

    def limit_n(self, _kw: Token, count: Token) -> tuple[str, Any]:
        return ("limit", (int(str(count)), None))

    def limit_mn(self, _kw: Token, skip: Token, count: Token) -> tuple[str, Any]:
        return ("limit", (int(str(count)), int(str(skip))))  # "limit offset, count" as in MySQL

    def limit_offset(self, _kw: Token, count: Token, _off: Token, skip: Token) -> tuple[str, Any]:
        return ("limit", (int(str(count)), int(str(skip))))

    def offset(self, _kw: Token, value: Token) -> tuple[str, Any]:
        return ("offset", int(str(value)))

    def start(
        self, _select: Token, columns: list[Selected], _from: Token, module: Token, *clauses: tuple[str, Any]
    ) -> Query:
        query = Query(columns=columns, module=str(module))
        for name, payload in clauses:
            if name == "where":
                query.where = payload
            elif name == "group":
                query.group = payload
            elif name == "order":
                query.order = payload
            elif name == "limit":
                query.limit, offset = payload
                if offset is not None:
                    query.offset = offset
            elif name == "offset":
                query.offset = payload
        return query


def _near(text: str, pos: int) -> str:
    rest = text[pos:].split()
    return rest[0] if rest else text.split()[-1] if text.split() else ""


def _syntax_error(text: str, exc: UnexpectedInput) -> EmulatorError:
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        near = str(exc.token)
        line, column = exc.token.line or exc.line, exc.token.column or exc.column
    elif isinstance(exc, UnexpectedCharacters):
        near = _near(text, exc.pos_in_stream or 0)
        line, column = exc.line, exc.column
    else:  # the query stopped early
        lines = text.rstrip().splitlines() or [""]
        near = lines[-1].split()[-1] if lines[-1].split() else ""
        line, column = len(lines), len(lines[-1]) - len(near) + 1  # at the last word given
    return EmulatorError("SYNTAX_ERROR", SYNTAX_MESSAGE, {"line": int(line), "column": int(column), "near": near})


def _check_nesting(text: str) -> None:
    """LIMIT_EXCEEDED when brackets outside quoted text nest deeper than MAX_NESTING."""
    depth, quote, i = 0, "", 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise EmulatorError(
                    "LIMIT_EXCEEDED",
                    "limit exceeded",
                    {"clause": "where", "limit": MAX_NESTING, "reason": "brackets nested too deep"},
                )
        elif char == ")":
            depth -= 1
        i += 1


# The tree is built by ``_Build`` as the parser reduces (no parse tree, then a walk over it): a
# mirror's read of changes sends a few queries at once of some fifty columns each, and the parse
# was most of the emulator's own time per query.
_PARSER = Lark(GRAMMAR, parser="lalr", maybe_placeholders=False, transformer=_Build())


def parse_query(text: str) -> Query:
    """Parse a select query; SYNTAX_ERROR with {line, column, near} or {clause} when malformed."""
    if not isinstance(text, str) or not text.strip():
        raise EmulatorError("SYNTAX_ERROR", SYNTAX_MESSAGE, {"line": 1, "column": 1, "near": ""})
    _check_nesting(text)
    try:
        query = _PARSER.parse(text)  # with a transformer, the parser answers what _Build builds
    except (UnexpectedToken, UnexpectedCharacters, UnexpectedEOF) as exc:
        raise _syntax_error(text, exc) from None
    except VisitError as exc:  # pragma: no cover - transformer bugs surface as syntax errors, not 500s
        raise EmulatorError(
            "SYNTAX_ERROR", SYNTAX_MESSAGE, {"line": 1, "column": 1, "near": str(exc.orig_exc)}
        ) from None
    if not isinstance(query, Query):  # pragma: no cover - the grammar's start rule builds a Query
        raise EmulatorError("SYNTAX_ERROR", SYNTAX_MESSAGE, {"line": 1, "column": 1, "near": ""})
    if query.where is None:
        # Zoho's answer to a select without a where clause.
        raise EmulatorError("SYNTAX_ERROR", "missing clause", {"clause": "where"})
    return query
