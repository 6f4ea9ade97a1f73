"""Plain data: the only thing that crosses from student code back to the grader.

A *plain* value is built from ``numpy.ndarray`` (numeric or bool dtype, never object),
``float``, ``int``, ``bool``, ``str``, ``None``, ``list`` and ``dict`` with ``str`` keys.
``to_plain`` turns what a learner's function returned into such a value and refuses anything
else (an always-equal object, an ndarray subclass that lies about ``__eq__``); ``pack`` and
``unpack`` move a plain value through bytes as an ``.npz`` archive (arrays) plus a JSON
manifest (structure and scalars) and never use pickle.

This module is imported inside the sandbox as well as in the grader, so it holds no tests,
references or secrets.
"""

from __future__ import annotations

import io
import json
import math
import numbers
import zipfile

import numpy as np

__all__ = ["NotPlain", "to_plain", "pack", "unpack", "MAX_ARRAY_BYTES", "MAX_ITEMS", "MAX_ARRAYS", "MAX_MANIFEST_BYTES",
           "short_repr"]

#: Refuse arrays larger than this when converting (a memory bomb in a return value).
MAX_ARRAY_BYTES = 64 * 1024 * 1024
_MAX_DEPTH = 16
#: ``unpack`` refuses a manifest of more nodes (lists, dicts, arrays, scalars) than this, or an
#: archive of more arrays than ``MAX_ARRAYS``: every node costs the grader time when it is decoded,
#: compared and explained, whatever its size in bytes. The largest honest values are far below
#: (a verifier result of one exercise: about 1,100 nodes and 260 arrays; an assignment's in-kernel
#: data: about 4,800 nodes and 1,500 arrays).
MAX_ITEMS = 100_000
MAX_ARRAYS = 10_000
#: The JSON manifest is parsed before its nodes are counted: its size bounds that parse (time and
#: memory: a few bytes of JSON become a Python dict of a few hundred bytes). Honest manifests: at
#: most about 30 kB (a verifier result) and 150 kB (an assignment's in-kernel data).
MAX_MANIFEST_BYTES = 4 << 20


class NotPlain(TypeError):
    """A value that cannot cross the sandbox boundary as plain data."""


def to_plain(value, _depth=0, _where="result"):
    """Return a plain copy of ``value`` or raise ``NotPlain`` naming where it failed."""
    if _depth > _MAX_DEPTH:
        raise NotPlain(f"{_where}: nested more than {_MAX_DEPTH} levels deep")
    # Exact type checks on purpose: subclasses may override __eq__, __float__, __array__...
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value
    if t is float:
        return value
    if t in (np.float64, np.float32, np.float16):
        return float(value)
    if t in (np.int64, np.int32, np.int16, np.int8, np.uint64, np.uint32, np.uint16, np.uint8):
        return int(value)
    if t is np.bool_:
        return bool(value)
    if t is np.ndarray:
        if value.dtype.kind not in "fiub":
            raise NotPlain(f"{_where}: array of dtype {value.dtype} (expected a numeric array)")
        if value.nbytes > MAX_ARRAY_BYTES:
            raise NotPlain(f"{_where}: array of {value.nbytes} bytes is too large")
        return np.array(value, copy=True, order="C")
    if t in (list, tuple):
        return [to_plain(v, _depth + 1, f"{_where}[{i}]") for i, v in enumerate(value)]
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise NotPlain(f"{_where}: dict key {k!r} is not a string")
            out[k] = to_plain(v, _depth + 1, f"{_where}[{k!r}]")
        return out
    raise NotPlain(f"{_where}: value of type {t.__module__}.{t.__qualname__} is not plain data")


def _encode(value, arrays):
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"array": key}
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    if isinstance(value, list):
        return {"list": [_encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"dict": {k: _encode(v, arrays) for k, v in value.items()}}
    return {"scalar": value}


def _decode(node, arrays, budget, depth=0):
    """``budget``: a one-element list, the number of nodes still allowed (shared by the whole manifest)."""
    if not isinstance(node, dict) or len(node) != 1:
        raise NotPlain(f"malformed manifest node {short_repr(node)}")
    budget[0] -= 1
    if budget[0] < 0:
        raise NotPlain(f"result has more than {budget[1]} items "
                       "(lists, dicts, arrays and numbers together)")
    if depth > _MAX_DEPTH:
        raise NotPlain(f"result is nested more than {_MAX_DEPTH} levels deep")
    (kind, payload), = node.items()
    if kind == "array":
        if type(payload) is not str or payload not in arrays:
            raise NotPlain(f"manifest names missing array {short_repr(payload)}")
        return arrays[payload]
    if kind == "float":
        if type(payload) is not str or len(payload) > 32:
            raise NotPlain(f"manifest float {short_repr(payload)}")
        return float(payload)
    if kind == "list":
        if type(payload) is not list:
            raise NotPlain("manifest list is not a list")
        return [_decode(v, arrays, budget, depth + 1) for v in payload]
    if kind == "dict":
        if type(payload) is not dict:
            raise NotPlain("manifest dict is not a dict")
        return {str(k): _decode(v, arrays, budget, depth + 1) for k, v in payload.items()}
    if kind == "scalar":
        if payload is None or type(payload) in (bool, int, float, str):
            return payload
        raise NotPlain(f"manifest scalar of type {type(payload).__name__}")
    raise NotPlain(f"unknown manifest node kind {short_repr(kind)}")


def short_repr(value, n: int = 60) -> str:
    """A repr of at most about ``n`` characters, computed without a repr of the whole value (a
    list of a million items, a 30 MB string)."""
    if type(value) is str:
        return repr(value[:n]) + ("..." if len(value) > n else "")
    if type(value) in (list, dict):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if type(value) is int and value.bit_length() > 200:
        return "a very large int"
    text = repr(value) if type(value) in (int, float, bool, type(None)) else f"a {type(value).__name__}"
    return text[:n]


def pack(value) -> bytes:
    """Serialize a plain value to bytes (an .npz with a JSON manifest; no pickle)."""
    arrays: dict[str, np.ndarray] = {}
    manifest = _encode(to_plain(value), arrays)
    buf = io.BytesIO()
    np.savez(buf, __manifest__=np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8), **arrays)
    return buf.getvalue()


def unpack(data: bytes, max_bytes: int = 256 * 1024 * 1024, max_items: int = MAX_ITEMS,
           max_arrays: int = MAX_ARRAYS):
    """Inverse of ``pack``; raises ``NotPlain`` on anything malformed. Never unpickles.

    Refused: more than ``max_bytes`` packed or inflated, more than ``max_arrays`` arrays, more than
    ``max_items`` nodes in the value, nesting deeper than ``to_plain`` allows (16 levels).
    """
    if len(data) > max_bytes:
        raise NotPlain(f"packed result of {len(data)} bytes exceeds {max_bytes}")
    # The bytes may come from code in the sandbox: a 1 MB deflated member can inflate to 1 GB in
    # the grader (a zip bomb), so the sizes the archive declares are checked before anything is
    # inflated (zipfile never inflates a member past its declared size), and any failure of the
    # zip or npy readers (unsupported compression, encryption, absurd shapes) is NotPlain.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
            declared = sum(info.file_size for info in members)
    except Exception as exc:  # noqa: BLE001
        raise NotPlain(f"result is not a valid archive: {exc}"[:300]) from None
    if len(members) > max_arrays + 1:  # + the manifest
        raise NotPlain(f"result archive holds {len(members)} members, more than {max_arrays} arrays")
    manifest_size = sum(info.file_size for info in members if info.filename == "__manifest__.npy")
    if manifest_size > MAX_MANIFEST_BYTES + 1024:  # + the .npy header
        raise NotPlain(f"result manifest of {manifest_size} bytes is larger than {MAX_MANIFEST_BYTES}")
    if declared > max_bytes:
        raise NotPlain(f"result archive would inflate to {declared} bytes, more than {max_bytes}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # noqa: BLE001 - ValueError, BadZipFile, NotImplementedError, MemoryError...
        raise NotPlain(f"result is not a valid archive: {type(exc).__name__}: {exc}"[:300]) from None
    raw = arrays.pop("__manifest__", None)
    if raw is None:
        raise NotPlain("result archive has no manifest")
    try:
        manifest = json.loads(raw.tobytes().decode())
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError, an int of 5,000 digits
        raise NotPlain(f"result manifest is not JSON: {type(exc).__name__}: {exc}"[:300]) from None
    for k, a in arrays.items():
        if a.dtype.kind not in "fiub":
            raise NotPlain(f"array {k} has dtype {a.dtype}")
    try:
        return _decode(manifest, arrays, [int(max_items), int(max_items)])
    except RecursionError:  # a manifest nested deeper than the interpreter's stack
        raise NotPlain("result manifest is nested too deeply") from None


def is_number(x) -> bool:
    """True for a real number that is not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


# --------------------------------------------------------------------------------------------
# The one comparer: the hidden tests, the verifier, the hints, the drivers (inputs modified in
# place) and the visible checks' data all decide "same output" here.


def rel_error(x, y) -> float:
    """Max elementwise relative error, max|x−y| / max(1e-8, |x|+|y|) (the cs231n convention; 0.0 when empty)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)), initial=0.0))


def _within(expected, actual, rtol, atol, nan_equal) -> bool:
    """Numbers or arrays of equal shape agree within ``rtol`` (relative) or ``atol`` (absolute, or ``atol(expected)``)."""
    e, a = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    if nan_equal:  # NaN and inf in the same places count as the same value (a division by zero in both)
        finite = np.isfinite(e) & np.isfinite(a)
        if not np.array_equal(e[~finite], a[~finite], equal_nan=True):
            return False
        e, a = e[finite], a[finite]
    limit = atol(e) if callable(atol) else atol
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(a - e) <= limit
    return bool(np.all(close | (np.abs(a - e) / np.maximum(1e-8, np.abs(a) + np.abs(e)) <= rtol)))


def shape_hint(actual: tuple, expected: tuple) -> str:
    """A sentence naming the axis by which ``actual`` differs from ``expected`` ('' if none is clear)."""
    actual, expected = tuple(actual), tuple(expected)
    if len(actual) == len(expected) + 1:
        for k in range(len(actual)):
            if actual[:k] + actual[k + 1:] == expected:
                return (f" It has one axis too many, axis {k} (length {actual[k]}): is a sum or mean over "
                        f"axis {k} missing?")
    if len(actual) + 1 == len(expected):
        for k in range(len(expected)):
            if expected[:k] + expected[k + 1:] == actual:
                return (f" Axis {k} (length {expected[k]}) is missing: was it summed or averaged away "
                        "(the wrong axis, or keepdims)?")
    if len(actual) == len(expected) and sorted(actual) == sorted(expected):
        return " The axes are in another order: a transpose?"
    if int(np.prod(actual)) == int(np.prod(expected)):
        return " It has the right number of entries: check a reshape, a transpose or a keepdims."
    return ""


def _array_problems(expected, actual, rtol, atol, where, strict, nan_equal) -> list[str]:
    if type(actual) is not np.ndarray:
        return [f"{where} should be a NumPy array of shape {expected.shape}, got {type(actual).__name__}"]
    if actual.shape != expected.shape:
        return [f"{where} has shape {actual.shape}, expected {expected.shape}.{shape_hint(actual.shape, expected.shape)}"]
    if (actual.dtype != expected.dtype) if strict else (expected.dtype.kind == "f" and actual.dtype != np.float64):
        return [f"{where} has dtype {actual.dtype}, expected {'float64' if not strict else expected.dtype}"]
    if not nan_equal and np.all(np.isfinite(expected)) and not np.all(np.isfinite(actual)):
        return [f"{where} contains NaN or inf"]
    if _within(expected, actual, rtol, atol, nan_equal):
        return []
    return [f"{where} differs from the expected value (relative error {rel_error(expected, actual):.2e})"]


def _number_problems(expected, actual, rtol, atol, where, nan_equal) -> list[str]:
    if not is_number(actual):
        return [f"{where} should be a number, got {type(actual).__name__}"]
    if not nan_equal and math.isfinite(expected) and not math.isfinite(actual):
        return [f"{where} is {actual}, expected a finite number"]
    if _within(expected, actual, rtol, atol, nan_equal):
        return []
    return [f"{where} is {actual:.6g}, expected {expected:.6g} (relative error {rel_error(expected, actual):.2e})"]


def _dict_problems(expected, actual, where, strict, compare) -> list[str]:
    if type(actual) is not dict:
        return [f"{where} should be a dict, got {type(actual).__name__}"]
    problems = [f"{where} is missing {k!r}" for k in expected if k not in actual]
    if strict:
        problems += [f"{where} has an unexpected {short_repr(k)}" for k in actual if k not in expected]
    for k in expected:
        if k in actual:
            problems += compare(expected[k], actual[k], f"{where}[{k!r}]")
    return problems


def _sequence_problems(expected, actual, where, compare) -> list[str]:
    if type(actual) is not type(expected):
        return [f"{where} should be a sequence of {len(expected)}, got {type(actual).__name__}"]
    if len(actual) != len(expected):
        return [f"{where} has {len(actual)} items, expected {len(expected)}"]
    problems = []
    for i, (e, a) in enumerate(zip(expected, actual)):
        problems += compare(e, a, f"{where}[{i}]")
    return problems


def compare_plain(expected, actual, rtol: float = 1e-6, where: str = "result", *, atol=0.0, strict: bool = False,
                  nan_equal: bool = False) -> list[str]:
    """Compare two plain values; return a list of problems (empty means equal within rtol).

    Arrays must match in type, shape and float64 dtype and be finite where the expected value
    is; numbers must be real numbers (not bools); structures must have the same keys/lengths.
    Type, shape and length are checked before any elementwise work, and no problem text is built
    from more than a bounded part of ``actual`` (it comes from the learner: a million-item list,
    a 30 MB string).

    atol: differences up to this pass too (a number, or a function of the expected array).
    strict: also refuse extra dict keys and any dtype difference (for :func:`same`).
    nan_equal: NaN and inf in the same places are equal (else a NaN never is).
    """

    def compare(e, a, w):
        return compare_plain(e, a, rtol, w, atol=atol, strict=strict, nan_equal=nan_equal)

    if isinstance(expected, np.ndarray):
        return _array_problems(expected, actual, rtol, atol, where, strict, nan_equal)
    if is_number(expected):
        return _number_problems(expected, actual, rtol, atol, where, nan_equal)
    if isinstance(expected, dict):
        return _dict_problems(expected, actual, where, strict, compare)
    if isinstance(expected, (list, tuple)):
        return _sequence_problems(expected, actual, where, compare)
    if type(actual) is not type(expected) or actual != expected:
        return [f"{where} is {short_repr(actual)}, expected {short_repr(expected)}"]
    return []


def same(a, b, rtol: float = 0.0, *, atol=0.0, nan_equal: bool = True) -> bool:
    """True when two values are the same output: same structure, keys, dtypes and shapes, values within rtol.

    With ``rtol=0`` (the default) this is exact equality, NaN equal to NaN (an input modified in place).
    """
    return not compare_plain(a, b, rtol, atol=atol, strict=True, nan_equal=nan_equal)
