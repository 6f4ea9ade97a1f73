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

__all__ = ["NotPlain", "to_plain", "pack", "unpack", "MAX_ARRAY_BYTES"]

#: Refuse arrays larger than this when converting (a memory bomb in a return value).
MAX_ARRAY_BYTES = 64 * 1024 * 1024
_MAX_DEPTH = 16


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


def _decode(node, arrays):
    if not isinstance(node, dict) or len(node) != 1:
        raise NotPlain(f"malformed manifest node {node!r:.80}")
    (kind, payload), = node.items()
    if kind == "array":
        if payload not in arrays:
            raise NotPlain(f"manifest names missing array {payload!r:.40}")
        return arrays[payload]
    if kind == "float":
        return float(payload)
    if kind == "list":
        return [_decode(v, arrays) for v in payload]
    if kind == "dict":
        return {str(k): _decode(v, arrays) for k, v in payload.items()}
    if kind == "scalar":
        if payload is None or type(payload) in (bool, int, float, str):
            return payload
        raise NotPlain(f"manifest scalar of type {type(payload).__name__}")
    raise NotPlain(f"unknown manifest node kind {kind!r:.40}")


def pack(value) -> bytes:
    """Serialize a plain value to bytes (an .npz with a JSON manifest; no pickle)."""
    arrays: dict[str, np.ndarray] = {}
    manifest = _encode(to_plain(value), arrays)
    buf = io.BytesIO()
    np.savez(buf, __manifest__=np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8), **arrays)
    return buf.getvalue()


def unpack(data: bytes, max_bytes: int = 256 * 1024 * 1024):
    """Inverse of ``pack``; raises ``NotPlain`` on anything malformed. Never unpickles."""
    if len(data) > max_bytes:
        raise NotPlain(f"packed result of {len(data)} bytes exceeds {max_bytes}")
    # The bytes may come from code in the sandbox: a 1 MB deflated member can inflate to 1 GB in
    # the grader (a zip bomb), so the sizes the archive declares are checked before anything is
    # inflated (zipfile never inflates a member past its declared size), and any failure of the
    # zip or npy readers (unsupported compression, encryption, absurd shapes) is NotPlain.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            declared = sum(info.file_size for info in zf.infolist())
    except Exception as exc:  # noqa: BLE001
        raise NotPlain(f"result is not a valid archive: {exc}"[:300]) from None
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
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise NotPlain(f"result manifest is not JSON: {type(exc).__name__}: {exc}"[:300]) from None
    for k, a in arrays.items():
        if a.dtype.kind not in "fiub":
            raise NotPlain(f"array {k} has dtype {a.dtype}")
    try:
        return _decode(manifest, arrays)
    except RecursionError:  # a manifest nested deeper than the interpreter's stack
        raise NotPlain("result manifest is nested too deeply") from None


def is_number(x) -> bool:
    """True for a real number that is not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)
