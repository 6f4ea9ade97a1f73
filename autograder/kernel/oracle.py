"""The verifier's oracle: the surfaces handed to learner functions, evaluated in another process.

A function such as ``numerical_hessian(f, x)`` must be called with a real callable ``f``. Built in
the learner's own process, ``f`` would carry what defines it (a random quadratic's matrix, a
secret rotation, the surface object with its analytic ``hessian``) in its closure, where
``f.__closure__`` or ``gc.get_objects()`` would find it. So in the verifier's sandbox:

1. the grader writes the function specs to ``oracle.npz`` beside the job (plain data, no pickle)
   and puts only ``{"__oracle__": k, "dim": d}`` handles into the job itself;
2. ``verify_runner`` forks this oracle before any learner code runs; the oracle reads and deletes
   ``oracle.npz``, makes itself non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``: another process of
   the same uid can then neither ptrace it nor read ``/proc/<pid>/mem``), and answers requests on
   a socket: ``(handle, "value" | "grad", x)`` -> array, nothing else;
3. the learner's process never reads ``oracle.npz``; its callables hold a handle and a socket.

The protocol is fixed-size binary headers and float64 data, parsed with ``struct`` and bounded,
so nothing the learner's process sends can make the oracle run code.
"""

from __future__ import annotations

import os
import socket
import struct

import numpy as np

__all__ = ["Client", "start"]

_METHODS = ("value", "grad")
_HEAD = struct.Struct("<iBB")      # handle, method, ndim
_DIM = struct.Struct("<I")
_MAX_NDIM = 4
_MAX_ELEMENTS = 1 << 20            # one request: at most 8 MiB of float64
_PR_SET_DUMPABLE = 4


class OracleError(RuntimeError):
    """The oracle refused a request or is gone."""


def _recv(sock: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _send_array(sock: socket.socket, status: int, arr: np.ndarray) -> None:
    arr = np.asarray(arr, dtype=np.float64, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    sock.sendall(bytes([status, arr.ndim]) + b"".join(_DIM.pack(n) for n in arr.shape) + arr.tobytes())


def _read_array(sock: socket.socket, ndim: int) -> np.ndarray:
    if ndim > _MAX_NDIM:
        raise OracleError(f"too many dimensions ({ndim})")
    shape = tuple(_DIM.unpack(_recv(sock, _DIM.size))[0] for _ in range(ndim))
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if size > _MAX_ELEMENTS:
        raise OracleError(f"an input of {size} numbers is too large")
    return np.frombuffer(_recv(sock, 8 * size), dtype=np.float64).reshape(shape).copy()


class Client:
    """The learner-side end: ``client(handle, method, x)`` returns the oracle's float64 array."""

    def __init__(self, sock: socket.socket):
        self._sock = sock

    def __call__(self, handle: int, method: str, x) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float64, order="C")
        if method not in _METHODS:
            raise ValueError(f"unknown method {method!r}")
        if arr.ndim > _MAX_NDIM or arr.size > _MAX_ELEMENTS:
            raise ValueError(f"an input of shape {arr.shape} is too large")
        try:
            self._sock.sendall(_HEAD.pack(int(handle), _METHODS.index(method), arr.ndim)
                               + b"".join(_DIM.pack(n) for n in arr.shape) + arr.tobytes())
            status, ndim = _recv(self._sock, 2)
            if status == 0:
                return _read_array(self._sock, ndim)
            (length,) = _DIM.unpack(_recv(self._sock, _DIM.size))
            message = _recv(self._sock, min(length, 2000)).decode("utf-8", "replace")
        except (OSError, EOFError) as exc:
            raise OracleError(f"the function could not be evaluated ({type(exc).__name__})") from None
        raise ValueError(message)


def _serve(sock: socket.socket, functions: list) -> None:
    while True:
        try:
            handle, method, ndim = _HEAD.unpack(_recv(sock, _HEAD.size))
        except EOFError:
            return
        try:
            x = _read_array(sock, ndim)
            if not 0 <= handle < len(functions) or method >= len(_METHODS):
                raise OracleError("no such function")
            fn, dim = functions[handle][method], functions[handle][2]
            if x.ndim == 0 or x.shape[-1] != dim:
                raise ValueError(f"the function takes points of shape ({dim},), got shape {x.shape}")
            with np.errstate(all="ignore"):
                out = np.asarray(fn(x), dtype=np.float64)
        except EOFError:
            return
        except Exception as exc:  # noqa: BLE001 - any refusal goes back as a message
            msg = f"{type(exc).__name__}: {exc}"[:500].encode()
            sock.sendall(bytes([1, 0]) + _DIM.pack(len(msg)) + msg)
            if isinstance(exc, OracleError) and "too large" in str(exc):
                return  # the stream is out of step after an oversized request: stop serving
            continue
        _send_array(sock, 0, out)


def _non_dumpable() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def start(spec_path: str) -> Client:
    """Fork the oracle on the specs in ``spec_path`` (deleted by the oracle); return the client.

    Returns once the oracle has read and deleted the file, so learner code run afterwards finds
    neither the file nor the specs in its own memory (this process never reads the file).
    """
    from autograder import drivers
    from autograder.plain import unpack

    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the oracle
        code = 0
        try:
            parent.close()
            _non_dumpable()
            try:
                with open(spec_path, "rb") as f:
                    specs = unpack(f.read())
            finally:
                os.unlink(spec_path)
            functions = []
            for spec in specs:
                value, grad = drivers.oracle_functions(spec)
                functions.append((value, grad, drivers.function_spec_dim(spec)))
            del specs
            child.sendall(b"R")
            _serve(child, functions)
        except BaseException:  # noqa: BLE001 - the learner side sees the oracle gone
            code = 1
        finally:
            os._exit(code)
    child.close()
    try:
        ready = _recv(parent, 1)
    except EOFError:
        ready = b""
    if ready != b"R":
        raise OracleError("the oracle did not start")
    return Client(parent)
