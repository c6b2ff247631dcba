"""What a field-mapping expression may cost: refused at creation, bounded while it runs.

Why expressions can amplify
---------------------------
JMESPath values are shared references: ``[@,@,@]`` builds a list of three
references to one value, not three copies, so fan-out alone costs nothing.
Cost appears where a value is *materialised* (``to_string`` and ``join``
build strings; flatten, slices, ``sort``, ``reverse``, ``keys``, ``values``,
``merge`` copy; the response encoder writes every reference out) or *walked*
(projections, filters, ``map``, ``sort_by``/``min_by``/``max_by`` evaluate
something per element). Chaining fan-out with a materialisation,
``[@,@,@,@,@,@,@,@,@,@] | to_string(@)`` five times, multiplies the payload
by 10 (and doubles it by escaping) at each stage: 199 characters made a
261-million-character value. A separator for ``join`` taken from the payload
is repeated per element: payload size squared.

The rule at creation (`check`, a 400 naming it)
-----------------------------------------------
* at most `MAX_DEPTH` levels of nesting (brackets while parsing, syntax-tree
  levels after, JSON literals) and `MAX_NODES` nodes;
* functions: JMESPath's built-in set, each with a cost rule below, called
  with the arity it declares; ``&expr`` only as the expression argument of
  ``map``, ``sort_by``, ``min_by`` and ``max_by``; ``join``'s separator must
  not depend on the payload;
* a cost bound. Every node is given, as linear functions of the size P of
  its input (its JSON length), a bound on its result's size (``a*P + b``) and
  on the work it does (``c*P + d``: one unit per node evaluated, per element
  copied or walked, per character built). The rules compose them: a pipe or
  sub-expression feeds one bound into the next; a multi-select adds its
  branches; a projection, filter or ``map`` applies its right side to each of
  at most P/2 elements; ``to_string`` at most doubles the size of what it
  serialises (quotes are escaped); ``sort`` costs ``LOG_FACTOR`` per element.
  An expression, or any part of it, whose result could exceed
  `MAX_GROWTH` times its input (or `MAX_CONSTANT` characters regardless of
  it), or whose work could exceed `MAX_WORK` units per input character (or
  `MAX_CONSTANT` regardless), is refused. Legitimate lookups (a path, a
  filter, a few keys picked from each element) stay far below.

The budget while running (`Meter`, defence in depth)
----------------------------------------------------
The static bound is relative to the payload; a payload can be megabytes, and
mappings stored before these rules were never checked. So each field is
evaluated by a counting interpreter within `FIELD_STEPS` units of work and
`FIELD_CHARS` characters (strings built plus the size of its result, counted
over shared references without materialising them), and a whole response
within `REQUEST_STEPS` and `REQUEST_CHARS`. What Python does in one call is
charged before the call, by the size of what it reads (`operand_cost`): a
deep ``==``/``!=``, ``contains`` and the other reading functions, sort keys.
Comparing two 590,000-element lists sixty times per field was free before
and held the event loop for seconds. Last, a response's fields together get
`RESPONSE_SECONDS` of wall-clock time. A field that goes over yields
``null`` with a reason (see `proxy.field_mappings`), never a stall or a huge
body.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, NamedTuple

import jmespath.exceptions
from jmespath import functions as jp_functions
from jmespath import lexer as jp_lexer
from jmespath.visitor import Options, TreeInterpreter

MAX_DEPTH = 32
MAX_NODES = 256
MAX_GROWTH = 64.0
MAX_WORK = 256.0
MAX_CONSTANT = 65_536.0
LOG_FACTOR = 24.0  # log2 of the largest list a payload can hold

FIELD_STEPS = 10_000
FIELD_CHARS = 256 * 1024
REQUEST_STEPS = 200_000
REQUEST_CHARS = 2 * 1024 * 1024
# The last resort: wall-clock seconds one response's fields may take in all,
# for any work the step counts price too low. Checked between fields and
# every `CLOCK_EVERY` nodes within one.
RESPONSE_SECONDS = 2.0
CLOCK_EVERY = 256

# Reasons a field comes back null although its expression is fine in itself.
TOO_COSTLY = "too_costly"
TOO_LARGE = "result_too_large"
RESPONSE_BUDGET = "response_budget_exhausted"
TOO_DEEP = "nests_too_deeply"
FAILED = "evaluation_failed"
TOO_SLOW = "too_slow"
REFUSED = "expression_refused"


class Refused(ValueError):
    """An expression over the static bound; the message names the rule."""


# -- the static bound ----------------------------------------------------------------


class Cost(NamedTuple):
    a: float  # result size per input character
    b: float  # result size regardless of input
    c: float  # work per input character
    d: float  # work regardless of input

    def then(self, nxt: "Cost") -> "Cost":
        """This, then `nxt` applied to its result."""
        return Cost(
            nxt.a * self.a, nxt.a * self.b + nxt.b, self.c + nxt.c * self.a, self.d + nxt.c * self.b + nxt.d
        )

    def plus(self, other: "Cost") -> "Cost":
        """Both evaluated on the same input, results side by side."""
        return Cost(self.a + other.a, self.b + other.b, self.c + other.c, self.d + other.d)

    def each(self, keep_nulls: bool = False) -> "Cost":
        """This applied to each element of a list of size P. The elements
        and their separators make up P, so a result no bigger than its
        element adds nothing; only a constant beyond that is paid per
        element, of which there are at most P/2 (``[1,1,1]``)."""
        extra = max(self.b, 4.0) if keep_nulls else self.b  # projections drop nulls
        return Cost(self.a + max(0.0, extra + 1 - self.a) / 2, 2.0, self.c + self.d / 2, 1.0)

    def work(self, c: float = 0.0, d: float = 1.0) -> "Cost":
        return Cost(self.a, self.b, self.c + c, self.d + d)


_STEP = Cost(0.0, 0.0, 0.0, 1.0)
# Part of its input, or null. A null is paid for where it can appear: as an
# element or value of a multi-select (projections drop it).
_LEAF = Cost(1.0, 0.0, 0.0, 1.0)
_NULL = 5.0  # "null" and a separator
_SMALL = 24.0  # a number, a boolean or a type name

# Function arities from jmespath's own table, so a misspelt call fails here.
_SIGNATURES = {name: entry["signature"] for name, entry in jp_functions.Functions.FUNCTION_TABLE.items()}
_TAKES_EXPREF = {"map": 0, "sort_by": 1, "min_by": 1, "max_by": 1}
_SCALAR = {"contains", "starts_with", "ends_with", "length", "type"}
_SCANS = {"contains", "max", "min", "sum", "avg"}  # read every element or character
_NUMERIC = {"abs", "ceil", "floor", "to_number", "sum", "avg", "max", "min"}
_COPY = {"reverse", "keys", "values", "to_array"}


def check_nesting(expression: str) -> None:
    """Refuse deep bracket nesting before the (recursive) parser sees it."""
    depth = 0
    try:
        for token in jp_lexer.Lexer().tokenize(expression):
            kind = token["type"]
            if kind in ("lparen", "lbracket", "lbrace", "filter"):
                depth += 1
                if depth > MAX_DEPTH:
                    raise Refused(f"expression must nest at most {MAX_DEPTH} levels deep")
            elif kind in ("rparen", "rbracket", "rbrace"):
                depth -= 1
    except jmespath.exceptions.LexerError:
        return  # the parser reports it with its own message


def check(ast: dict[str, Any]) -> Cost:
    """The cost bound of a parsed expression, or Refused naming the rule."""
    return _Walker().cost(ast, 0)


class _Walker:
    def __init__(self) -> None:
        self.nodes = 0

    def cost(self, node: dict[str, Any], depth: int) -> Cost:
        if depth > MAX_DEPTH:
            raise Refused(f"expression must nest at most {MAX_DEPTH} levels deep")
        _refuse_surrogates(node.get("value"))
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Refused(f"expression must have at most {MAX_NODES} parts")
        result = self._cost(node, depth + 1)
        if result.a > MAX_GROWTH or result.b > MAX_CONSTANT:
            raise Refused(
                f"expression could grow its input more than {MAX_GROWTH:g}-fold, or by more than "
                f"{MAX_CONSTANT:.0f} characters (fan-out such as [@,@,...] or projections feeding "
                "to_string, join or the result)"
            )
        if result.c > MAX_WORK or result.d > MAX_CONSTANT:
            raise Refused(
                f"expression could cost more than {MAX_WORK:g} steps per input character, or "
                f"{MAX_CONSTANT:.0f} steps in all (fan-out feeding projections, filters, map or sorts)"
            )
        return result

    def _cost(self, node: dict[str, Any], depth: int) -> Cost:
        kind = node["type"]
        children = node.get("children", [])
        if kind in ("current", "identity", "field", "index"):
            return _LEAF
        if kind == "slice":
            return _LEAF.work(c=0.5)
        if kind == "literal":
            return Cost(0.0, float(_literal_size(node["value"])), 0.0, 1.0)
        if kind in ("subexpression", "index_expression", "pipe"):
            total = self.cost(children[0], depth)
            for child in children[1:]:
                total = total.then(self.cost(child, depth))
            return total
        if kind == "multi_select_list":
            total = Cost(0.0, 2.0 + _NULL * len(children), 0.0, 1.0)
            for child in children:
                total = total.plus(self.cost(child, depth))
            return total
        if kind == "multi_select_dict":
            total = Cost(0.0, 2.0, 0.0, 1.0)
            for pair in children:  # key_val_pair nodes
                _refuse_surrogates(pair["value"])
                key = Cost(0.0, len(json.dumps(pair["value"])) + 1 + _NULL, 0.0, 1.0)
                total = total.plus(key).plus(self.cost(pair["children"][0], depth))
            return total
        if kind in ("or_expression", "and_expression"):
            left, right = (self.cost(child, depth) for child in children)
            return Cost(max(left.a, right.a), max(left.b, right.b), left.c + right.c, left.d + right.d + 1)
        if kind == "not_expression":
            inner = self.cost(children[0], depth)
            return Cost(0.0, 5.0, inner.c, inner.d + 1)
        if kind == "comparator":
            left, right = (self.cost(child, depth) for child in children)
            # Comparing costs at most the size of the smaller side; bound it
            # by the side smaller regardless of input (it is paid per element
            # inside a filter), e.g. the field rather than a long literal.
            smaller = min(left, right, key=lambda side: (side.b, side.a))
            both = left.plus(right)
            return Cost(0.0, 5.0, both.c + smaller.a, both.d + smaller.b + 1)
        if kind in ("projection", "value_projection"):
            base, right = (self.cost(child, depth) for child in children)
            return base.then(right.each())
        if kind == "filter_projection":
            base, right, condition = (self.cost(child, depth) for child in children)
            per_element = right.work(c=condition.c, d=condition.d)
            return base.then(per_element.each())
        if kind == "flatten":
            return self.cost(children[0], depth).then(Cost(1.0, 2.0, 0.5, 1.0))
        if kind == "function_expression":
            return self._function(node["value"], children, depth)
        if kind == "expref":
            raise Refused("expression may use &expr only as the expression argument of map, sort_by, min_by or max_by")
        raise Refused(f"expression uses an unsupported construct ({kind})")

    def _function(self, name: str, args: list[dict[str, Any]], depth: int) -> Cost:
        signature = _SIGNATURES.get(name)
        if signature is None:
            raise Refused(f"expression calls an unknown function, {name}()")
        variadic = bool(signature) and signature[-1].get("variadic", False)
        if len(args) < len(signature) or (not variadic and len(args) > len(signature)):
            raise Refused(f"expression calls {name}() with {len(args)} arguments; it takes {len(signature)}{' or more' if variadic else ''}")
        expref_at = _TAKES_EXPREF.get(name)
        costs: list[Cost] = []
        for position, arg in enumerate(args):
            if position == expref_at:
                if arg["type"] != "expref":
                    raise Refused(f"expression must give {name}() an &expr as argument {position + 1}")
                costs.append(self.cost(arg["children"][0], depth))
            else:
                costs.append(self.cost(arg, depth))
        inputs = _STEP
        for position, cost in enumerate(costs):
            if position != expref_at:
                inputs = inputs.plus(cost)
        scan = inputs.work(c=inputs.a, d=inputs.b) if name in _SCANS else inputs
        if name in _SCALAR:
            return Cost(0.0, _SMALL, scan.c, scan.d)
        if name in _NUMERIC:
            return Cost(inputs.a, inputs.b + _SMALL, scan.c, scan.d)
        if name in _COPY or name == "merge" or name == "not_null":
            return Cost(inputs.a, inputs.b + 2, inputs.c + inputs.a, inputs.d + inputs.b)
        if name == "sort":
            return inputs.work(c=LOG_FACTOR * inputs.a, d=LOG_FACTOR * inputs.b)
        if name == "to_string":
            # Serialising escapes every quote of the strings inside: at most double.
            return Cost(2 * inputs.a, 2 * inputs.b + 2, inputs.c + 2 * inputs.a, inputs.d + 2 * inputs.b + 2)
        if name == "join":
            separator, array = costs
            if separator.a > 0:
                raise Refused("expression must give join() a literal separator (one taken from the payload is repeated per element)")
            factor = 1 + separator.b / 2
            built = Cost(array.a * factor, array.b * factor, 0.0, 0.0)
            return Cost(built.a, built.b, inputs.c + built.a, inputs.d + built.b)
        array = costs[1 - expref_at] if expref_at is not None and len(costs) == 2 else inputs
        if name == "map":
            return array.then(costs[0].each(keep_nulls=True))
        if name in ("sort_by", "min_by", "max_by"):
            per_element = costs[1].each()
            sort = LOG_FACTOR if name == "sort_by" else 0.0
            return Cost(
                array.a,
                array.b,
                array.c + (per_element.c + sort) * array.a,
                array.d + (per_element.c + sort) * array.b + 1,
            )
        raise Refused(f"expression may not call {name}() in a field mapping")


def _refuse_surrogates(value: Any) -> None:
    """Literals, field names and keys as unescaped: a lone surrogate
    (``"\\ud800"``) cannot be written as UTF-8, so no response could carry it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not writable(item):
                raise Refused("expression must not contain surrogate code points (U+D800 to U+DFFF) in "
                              "literals, names or keys")
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def writable(text: str) -> bool:
    """Whether the response encoder can write `text` (UTF-8: no lone surrogates)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _literal_size(value: Any) -> int:
    depth, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        depth = max(depth, level)
        if depth > MAX_DEPTH:
            raise Refused(f"expression must nest at most {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return len(json.dumps(value))


# -- the budget while running ------------------------------------------------------

MAX_VALUE_DEPTH = 512  # below msgspec's encoding limit


class OverBudget(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Budget:
    """What one response's custom fields may still spend, all fields together."""

    def __init__(self, steps: int = REQUEST_STEPS, chars: int = REQUEST_CHARS) -> None:
        self.steps = steps
        self.chars = chars
        self.seconds = RESPONSE_SECONDS  # time left, spent only while evaluating

    def out_of_time(self) -> bool:
        return self.seconds <= 0


class Meter:
    """One field's allowance: its own limits, or what the response has left."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.steps = self._steps = min(FIELD_STEPS, budget.steps)
        self.chars = self._chars = min(FIELD_CHARS, budget.chars)
        # Naming the limit that bit: the field's own, or the response's.
        self._steps_reason = TOO_COSTLY if FIELD_STEPS <= budget.steps else RESPONSE_BUDGET
        self._chars_reason = TOO_LARGE if FIELD_CHARS <= budget.chars else RESPONSE_BUDGET
        self._started = time.perf_counter()
        self._until_clock = CLOCK_EVERY

    def tick(self) -> None:
        """One node evaluated; now and then, look at the clock."""
        self._until_clock -= 1
        if self._until_clock <= 0:
            self._until_clock = CLOCK_EVERY
            if time.perf_counter() - self._started >= self.budget.seconds:
                raise OverBudget(TOO_SLOW)

    def spend(self, steps: int = 0, chars: int = 0) -> None:
        self.steps -= steps
        self.chars -= chars
        if self.steps < 0:
            raise OverBudget(self._steps_reason)
        if self.chars < 0:
            raise OverBudget(self._chars_reason)

    def settle(self) -> int:
        """Charge what this field spent to the response; returns the work done."""
        steps = self._steps - max(self.steps, 0)
        chars = self._chars - max(self.chars, 0)
        self.budget.steps -= steps
        self.budget.chars -= chars
        self.budget.seconds -= time.perf_counter() - self._started
        return steps + chars // 64


def measure(value: Any, meter: Meter) -> int:
    """The JSON size of `value` as the encoder would write it, counting a
    shared reference each time it occurs, charged to `meter`.

    The walk visits each distinct container once (a depth-first walk that
    remembers sizes by identity), so measuring a value built by fan-out
    costs what building it did, not what writing it out would."""
    if not isinstance(value, (list, dict)):
        size = _leaf_size(value)
        meter.spend(1, size)
        return size
    known: dict[int, int] = {}
    # Frames: [container, its children, next index, size so far].
    frames: list[list[Any]] = [_frame(value, meter)]
    while True:
        frame = frames[-1]
        container, children, index = frame[0], frame[1], frame[2]
        if index < len(children):
            frame[2] = index + 1
            child = children[index]
            if isinstance(child, (list, dict)):
                size = known.get(id(child))
                if size is None:
                    if len(frames) >= MAX_VALUE_DEPTH:
                        raise OverBudget(TOO_DEEP)
                    frames.append(_frame(child, meter))
                    continue
            else:
                size = _leaf_size(child)
            frame[3] += size
            continue
        frames.pop()
        known[id(container)] = frame[3]
        if not frames:
            meter.spend(chars=frame[3])
            return frame[3]
        frames[-1][3] += frame[3]


def _frame(container: Any, meter: Meter) -> list[Any]:
    meter.spend(1 + len(container))
    if isinstance(container, dict):
        if not all(writable(key) for key in container):
            raise OverBudget(FAILED)  # the encoder could not write it
        overhead = 2 + sum(len(key) + 4 for key in container)  # quotes, colon, comma
        return [container, list(container.values()), 0, overhead]
    return [container, container, 0, 2 + len(container)]  # brackets, commas


def _leaf_size(value: Any) -> int:
    if isinstance(value, str):
        if not writable(value):
            raise OverBudget(FAILED)  # e.g. a lone surrogate: the encoder could not write it
        return len(value) + 2
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, float):
        return 24
    raise OverBudget(FAILED)  # not JSON (an &expression result); refused at creation anyway


def operand_cost(value: Any, limit: int) -> int:
    """The work of reading `value` whole, as a deep ``==``, ``in`` or a sort
    does: one step per container and element, one per 64 characters of a
    string. Shared references are counted each time they occur (Python
    compares them again), so the walk stops once it passes `limit` and
    returns a number over it: a huge operand costs a bounded walk to refuse."""
    cost, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            cost += 1 + len(item) // 64
        elif isinstance(item, dict):
            cost += 1 + len(item)
            if cost <= limit:  # keys summed only for a dict within the limit
                cost += sum(len(key) for key in item) // 64
                stack.extend(item.values())
        elif isinstance(item, list):
            cost += 1 + len(item)
            if cost <= limit:
                stack.extend(item)
        else:
            cost += 1
        if cost > limit:
            return cost
    return cost


class Interpreter(TreeInterpreter):
    """jmespath's interpreter, charging every node it evaluates and every
    element or character it copies to the current field's meter."""

    def __init__(self) -> None:
        self.meter = Meter(Budget(0, 0))
        super().__init__(Options(custom_functions=_Functions(self)))

    def run(self, ast: dict[str, Any], value: Any, meter: Meter) -> Any:
        self.meter = meter
        result = self.visit(ast, value)
        measure(result, meter)  # the response will carry it
        return result

    def visit(self, node: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.meter.spend(1)
        self.meter.tick()
        return super().visit(node, *args, **kwargs)

    def charge_reading(self, *operands: Any, factor: int = 1) -> None:
        """Charge reading the cheapest of `operands` whole (`factor` times),
        before Python does it for free: ``==`` stops at the smaller side."""
        meter = self.meter
        limit = max(meter.steps, 0) // factor
        meter.spend(factor * min(operand_cost(operand, limit) for operand in operands))

    def visit_comparator(self, node: dict[str, Any], value: Any) -> Any:
        if node["value"] not in self._EQUALITY_OPS:
            return super().visit_comparator(node, value)  # ordering: numbers only
        left = self.visit(node["children"][0], value)
        right = self.visit(node["children"][1], value)
        self.charge_reading(left, right)
        return self.COMPARATOR_FUNC[node["value"]](left, right)

    def visit_flatten(self, node: dict[str, Any], value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, list):
            return None
        self.meter.spend(len(base))
        self.meter.spend(sum(len(element) for element in base if isinstance(element, list)))
        merged: list[Any] = []
        for element in base:
            if isinstance(element, list):
                merged.extend(element)
            else:
                merged.append(element)
        return merged

    def visit_slice(self, node: dict[str, Any], value: Any) -> Any:
        if isinstance(value, list):
            self.meter.spend(len(value))
        return super().visit_slice(node, value)


_SORTS = {"sort", "sort_by"}
# Functions whose first argument is read whole (compared, searched, parsed):
# charged by its size before they run. min_by, max_by and sort_by compare
# the keys their &expr yields; `_create_key_func` charges each key.
_READS = {"contains", "starts_with", "ends_with", "max", "min", "sort", "to_number", "sum", "avg"}
LOG_FACTOR_INT = int(LOG_FACTOR)


class _Functions(jp_functions.Functions):
    def __init__(self, interpreter: Interpreter) -> None:
        self.interpreter = interpreter

    def call_function(self, function_name: str, resolved_args: list[Any]) -> Any:
        meter = self.interpreter.meter
        if function_name in _READS and resolved_args:
            # Deep comparisons, substring searches, number parsing and sorts
            # of strings cost the size of what they read, not its length.
            factor = LOG_FACTOR_INT if function_name == "sort" else 1
            self.interpreter.charge_reading(resolved_args[0], factor=factor)
        elements = sum(len(arg) for arg in resolved_args if isinstance(arg, (list, dict)))
        if function_name in _SORTS:
            elements *= max(1, math.ceil(math.log2(elements + 1)))
        meter.spend(elements)
        if function_name == "to_string" and resolved_args and not isinstance(resolved_args[0], str):
            measured = measure(resolved_args[0], meter)
            result = super().call_function(function_name, resolved_args)
            meter.spend(chars=max(0, len(result) - measured))  # escapes beyond the estimate
            return result
        if function_name == "join" and len(resolved_args) == 2:
            separator, array = resolved_args
            if isinstance(separator, str) and isinstance(array, list):
                strings = sum(len(item) for item in array if isinstance(item, str))
                meter.spend(chars=strings + len(separator) * len(array))
        if function_name == "reverse" and resolved_args and isinstance(resolved_args[0], str):
            meter.spend(chars=len(resolved_args[0]))
        return super().call_function(function_name, resolved_args)

    def _create_key_func(self, expref: Any, allowed_types: Any, function_name: str) -> Any:
        keyfunc = super()._create_key_func(expref, allowed_types, function_name)
        factor = LOG_FACTOR_INT if function_name == "sort_by" else 1

        def charged(element: Any) -> Any:
            key = keyfunc(element)
            self.interpreter.charge_reading(key, factor=factor)  # compared about log2(n) times
            return key

        return charged
