"""A tiny checker of answer *shapes* recorded from Zoho's documented samples.

A shape is:
- a type (``str``, ``int``, ``float``, ``bool``, ``dict``, ``list``): the value is of that type
  (``int`` never accepts a bool; ``float`` accepts an int, JSON does not tell them apart);
- a dict ``{key: shape}``: an object holding every key (a key ending in ``?`` may be absent), extra
  keys allowed;
- a list ``[shape]``: an array whose every item has the shape;
- a tuple of shapes: any one of them (``None`` in it allows null);
- a frozenset of values: one of those values (state names, codes);
- any other value (a string, a number, ``None``): exactly that value.
"""

from __future__ import annotations

from typing import Any


def check_shape(value: Any, shape: Any, where: str = "$") -> list[str]:
    """The ways ``value`` differs from ``shape`` (empty: it conforms), each naming its JSON path."""
    if isinstance(shape, tuple):
        results = [check_shape(value, s, where) for s in shape]
        return [] if any(not r for r in results) else min(results, key=len)
    if isinstance(shape, frozenset):
        return [] if value in shape else [f"{where}: {value!r} not one of {sorted(map(repr, shape))}"]
    if isinstance(shape, type):
        ok = isinstance(value, shape) and not (shape in (int, float) and isinstance(value, bool))
        ok = ok or (shape is float and isinstance(value, int) and not isinstance(value, bool))
        return [] if ok else [f"{where}: expected {shape.__name__}, got {type(value).__name__} {value!r:.60}"]
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected object, got {type(value).__name__}"]
        problems: list[str] = []
        for key, sub in shape.items():
            name = key.removesuffix("?")
            if name not in value:
                if not key.endswith("?"):
                    problems.append(f"{where}: missing key {name!r}")
                continue
            problems += check_shape(value[name], sub, f"{where}.{name}")
        return problems
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where}: expected array, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in check_shape(item, shape[0], f"{where}[{i}]")]
    return [] if value == shape and type(value) is type(shape) else [f"{where}: expected {shape!r}, got {value!r:.60}"]
