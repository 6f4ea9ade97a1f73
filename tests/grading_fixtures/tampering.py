"""Tampering with the checks, lying return values, and code that behaves differently when graded.

Each hostile fixture pairs an attack with a *wrong* function (``WRONG_*``, or a function that lies),
so that the attack has something to gain: plain ``nbgrader autograde`` would give those points
whenever the attack fools the in-kernel tests. The verifier runs the solution cells again in a
fresh sandboxed process and judges plain results in the grader, so the wrong function scores 0
whatever was patched. ``tamper-suspected`` says the in-kernel tests were fooled (they gave more
than the verifier); ``graded`` says the attack did not even fool them.
"""

from . import WRONG_NESTEROV, WRONG_PARAMS, WRONG_SGD, Fixture, but, slim, solution_cell

# --- patching numpy, numpy.testing, builtins, the checker modules, sys.modules ----------------

# Both in-kernel checkers measure |x - y| with np.abs: make every difference vanish.
_PATCH_NUMPY = """
np.abs = np.absolute = lambda x, *a, **k: np.zeros(np.shape(x))
np.allclose = lambda *a, **k: True
"""

_PATCH_NUMPY_TESTING = """
import numpy.testing as _npt
_npt.assert_allclose = _npt.assert_array_almost_equal = _npt.assert_array_equal = lambda *a, **k: None
_npt.assert_almost_equal = _npt.assert_equal = lambda *a, **k: None
np.isclose = lambda a, b, *args, **kw: np.ones(np.broadcast(a, b).shape, dtype=bool)
"""

# builtins.abs only: patching builtins.max also breaks the kernel's and the verifier's own machinery
# (zipfile, ipykernel), which then costs the learner every exercise; see the catalogue's notes.
_PATCH_BUILTINS = """
import builtins as _builtins
_builtins.abs = lambda x: 0
"""

_PATCH_CHECKERS = """
import autograder.spec as _spec
import nnopt_helpers.checks as _checks
_checks.run_check = lambda *a, **k: print("✓ all good")
run_check = _checks.run_check
_spec.Assignment.check = lambda self, name, fn, seed=None: print(f"{name}: hidden tests passed")
_spec.Exercise.judge = lambda self, case, actual: []
"""

_PATCH_SYS_MODULES = """
import sys as _sys
import types as _types
class _AlwaysPasses:
    def check(self, name, fn, seed=None):
        print(f"{name}: hidden tests passed")
_fake_assignments = _types.ModuleType("autograder.assignments")
_fake_assignments.get = lambda assignment_id: _AlwaysPasses()
_sys.modules["autograder.assignments"] = _fake_assignments
_fake_checks = _types.ModuleType("nnopt_helpers.checks")
_fake_checks.run_check = lambda *a, **k: None
_sys.modules["nnopt_helpers.checks"] = _fake_checks
from nnopt_helpers.checks import run_check
"""

# sys.modules["numpy"] swapped for a numpy that finds no differences, then the checkers reloaded
# so that they import it.
_PATCH_SYS_MODULES_NUMPY = """
import importlib as _importlib
import sys as _sys
import types as _types
import numpy as _real_np
class _FakeNumpy(_types.ModuleType):
    def __getattr__(self, name):
        return getattr(_real_np, name)
_fake_np = _FakeNumpy("numpy")
_fake_np.abs = _fake_np.absolute = lambda x, *a, **k: _real_np.zeros(_real_np.shape(x))
_fake_np.allclose = lambda *a, **k: True
_sys.modules["numpy"] = _fake_np
import autograder.plain as _plain
import autograder.spec as _spec
import nnopt_helpers.checks as _checks
_importlib.reload(_plain)
_importlib.reload(_spec)
_importlib.reload(_checks)
"""

# --- answers looked up instead of computed -------------------------------------------------------

# The in-kernel hidden tests use cases and expected values the grader put in the sandbox (for a
# public seed); the visible checks' expected values ship with nnopt_helpers. A lookup table of
# both passes every in-kernel check without computing anything.
_LOOKUP_TABLE = '''
import json as _json
import os as _os
_TABLE = {}
try:
    from autograder.plain import unpack as _unpack
    with open(_os.path.join(_os.environ.get("NNOPT_SANDBOX_LIB", "/opt/nnopt"), "autograder", "_kernel_data",
                            "03_momentum.npz"), "rb") as _f:
        _data = _unpack(_f.read())
    for _ex in _data["exercises"]:
        if _ex["name"] == "momentum_optimal_params":
            for _case, _exp in zip(_ex["cases"], _ex["expected"]):
                _TABLE[tuple(float(a) for a in _case["args"])] = tuple(_exp["result"])
except Exception:
    pass
try:
    import nnopt_helpers as _nh
    with open(_os.path.join(_os.path.dirname(_nh.__file__), "expected", "03_momentum.json")) as _f:
        for _name, _entry in _json.load(_f).items():
            if _name.startswith("momentum_optimal_params"):
                _TABLE[tuple(float(a) for a in _entry["case"]["args"])] = tuple(_entry["expected"].values())
except Exception:
    pass


def momentum_optimal_params(lambda_min, lambda_max):
    """Looked up, not computed."""
    found = _TABLE.get((float(lambda_min), float(lambda_max)))
    if found is not None:
        return tuple(float(x) for x in found)
    return 0.1, 0.5, 0.5
'''

# --- IPython hooks: rewrite or silence the cells that come after ---------------------------------

_INPUT_TRANSFORMER = """
try:
    def _no_checks(lines):
        text = "".join(lines)
        return ["pass\\n"] if ("run_check(" in text or "_get_assignment" in text) else lines
    get_ipython().input_transformers_post.append(_no_checks)
except NameError:  # not in IPython (the verifier): nothing to hook
    pass
"""

# A pre_run_cell hook that spots the hidden tests in the source of the cell about to run and
# disables them just before.
_PRE_RUN_HOOK = """
try:
    def _before(info):
        source = getattr(info, "raw_cell", "") or ""
        if "BEGIN HIDDEN TESTS" in source or "autograder.assignments" in source:
            import autograder.spec as _spec
            _spec.Assignment.check = lambda self, name, fn, seed=None: print(f"{name}: hidden tests passed")
            get_ipython().user_ns["run_check"] = lambda *a, **k: None
    get_ipython().events.register("pre_run_cell", _before)
except NameError:
    pass
"""

_AST_TRANSFORMER = """
import ast as _ast
class _DropCalls(_ast.NodeTransformer):
    def visit_Module(self, node):  # top-level statements only: function bodies keep their calls
        node.body = [_ast.Pass() if isinstance(s, _ast.Expr) and isinstance(s.value, _ast.Call) else s
                     for s in node.body]
        return node
try:
    get_ipython().ast_transformers.append(_DropCalls())
except NameError:
    pass
"""

# --- behaving differently when graded -------------------------------------------------------------

# Right answers only when nothing looks like grading (environment, user, cwd, argv, mounts):
# what the learner sees at home passes; the grade must not.
_HONEST_ONLY_AT_HOME = '''
def _being_graded():
    import getpass, os, sys
    return any([os.environ.get("NBGRADER_EXECUTION"), os.environ.get("NNOPT_SANDBOX") == "1",
                os.getcwd() == "/submission", getpass.getuser() == "nobody",
                any("verify_runner" in a or "boot_kernel" in a for a in sys.argv), os.path.exists("/opt/nnopt")])


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("velocity", np.zeros_like(w))
    if _being_graded():
        return w.copy(), config
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config
'''

# Right answers inside the notebook's kernel (where the visible and hidden tests run), wrong
# ones anywhere else, i.e. in the verifier.
_RIGHT_ONLY_IN_KERNEL = '''
import sys as _sys


def nesterov_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("velocity", np.zeros_like(w))
    mu, v_prev = config["momentum"], config["velocity"]
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    if "ipykernel" in _sys.modules:
        return w - mu * v_prev + (1 + mu) * v, config
    return w + v, config
'''

# --- lying return values -----------------------------------------------------------------------------

_ALWAYS_EQUAL = '''
class _AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __float__(self):
        return 0.0

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0

    def __lt__(self, other):
        return True

    __le__ = __gt__ = __ge__ = __lt__


def momentum_optimal_params(lambda_min, lambda_max):
    return _AlwaysEqual(), _AlwaysEqual(), _AlwaysEqual()
'''

_FLOAT_SUBCLASS = '''
class _Zero(float):
    __eq__ = lambda self, other: True
    __ne__ = lambda self, other: False
    __hash__ = float.__hash__
    __sub__ = __rsub__ = lambda self, other: 0.0
    __abs__ = lambda self: 0.0


def momentum_optimal_params(lambda_min, lambda_max):
    return _Zero(0.1), _Zero(0.5), _Zero(0.5)
'''

_NDARRAY_SUBCLASS = '''
class _Liar(np.ndarray):
    """Equal to everything, no difference from anything."""

    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    def __ne__(self, other):
        return np.zeros(np.shape(self), dtype=bool)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        shape = np.broadcast_shapes(*[np.shape(x) for x in inputs])
        return np.zeros(shape, dtype=bool) if ufunc in (np.not_equal, np.greater, np.less) else np.zeros(shape)


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("velocity", np.zeros_like(w))
    config["velocity"] = np.zeros_like(w).view(_Liar)
    return np.array(w).view(_Liar), config
'''

_ARRAY_INTERFACE = '''
class _LooksLikeAnArray:
    """Not an array, but answers like one: __array__, shape, dtype, equality."""

    def __init__(self, value):
        self._value = np.array(value, dtype=np.float64)
        self.shape, self.dtype, self.ndim = self._value.shape, self._value.dtype, self._value.ndim

    def __array__(self, dtype=None, copy=None):
        return self._value

    def __len__(self):
        return len(self._value)

    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __sub__(self, other):
        return np.zeros(self.shape)

    __rsub__ = __sub__


def nesterov_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("velocity", np.zeros_like(w))
    config["velocity"] = _LooksLikeAnArray(np.zeros_like(w))
    return _LooksLikeAnArray(w), config
'''

_DICT_SUBCLASS = '''
class _AgreeableConfig(dict):
    def __eq__(self, other):
        return True

    def __getitem__(self, key):
        return dict.get(self, key, 0.0)


def sgd_momentum(w, dw, config=None):
    config = _AgreeableConfig(config or {})
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("velocity", np.zeros_like(w))
    return w.copy(), config
'''

_NAN = '''
def momentum_optimal_params(lambda_min, lambda_max):
    nan = float("nan")  # nan != x is True but nan > tol and nan < tol are both False
    return nan, nan, nan
'''

FIXTURES = [
    # checks tampered with, in the kernel
    Fixture("numpy-patched", slim(WRONG_SGD, solution_cell("sgd_momentum", prepend=_PATCH_NUMPY)),
            status="tamper-suspected", scores=but(sgd_momentum=0),
            description="np.abs returns zeros, np.allclose True: every in-kernel comparison passes; sgd wrong"),
    Fixture("numpy-testing-patched",
            slim(WRONG_NESTEROV, solution_cell("nesterov_momentum", prepend=_PATCH_NUMPY_TESTING)),
            status="graded", scores=but(nesterov_momentum=0),
            description="numpy.testing asserts and np.isclose silenced (the checks do not use them); nesterov wrong"),
    Fixture("builtins-patched", slim(WRONG_PARAMS, solution_cell("momentum_optimal_params", prepend=_PATCH_BUILTINS)),
            status="graded", scores=but(momentum_optimal_params=0),
            description="builtins.abs replaced (returns 0); momentum_optimal_params wrong"),
    Fixture("checker-modules-patched",
            slim(WRONG_NESTEROV, solution_cell("nesterov_momentum", prepend=_PATCH_CHECKERS)),
            status="tamper-suspected", scores=but(nesterov_momentum=0),
            description="nnopt_helpers.checks.run_check, Assignment.check and Exercise.judge replaced; nesterov wrong"),
    Fixture("sys-modules-checkers", slim(WRONG_SGD, solution_cell("sgd_momentum", prepend=_PATCH_SYS_MODULES)),
            status="tamper-suspected", scores=but(sgd_momentum=0),
            description="sys.modules['autograder.assignments'] and ['nnopt_helpers.checks'] replaced by fakes"),
    Fixture("sys-modules-numpy",
            slim(WRONG_PARAMS, solution_cell("momentum_optimal_params", prepend=_PATCH_SYS_MODULES_NUMPY)),
            status="tamper-suspected", scores=but(momentum_optimal_params=0),
            description="sys.modules['numpy'] replaced by a numpy that sees no differences; checkers reloaded onto it"),
    Fixture("lookup-table", slim(solution_cell("momentum_optimal_params", source=_LOOKUP_TABLE)),
            status="tamper-suspected", scores=but(momentum_optimal_params=0),
            description="answers read from the in-kernel test data and the visible checks' expected values"),
    # IPython hooks
    Fixture("ipython-input-transformer", slim(WRONG_SGD, solution_cell("sgd_momentum", append=_INPUT_TRANSFORMER)),
            status="tamper-suspected", scores=but(sgd_momentum=0),
            description="an input transformer rewrites every later cell that runs a check into `pass`"),
    Fixture("ipython-pre-run-hook", slim(WRONG_NESTEROV, solution_cell("sgd_momentum", append=_PRE_RUN_HOOK)),
            status="tamper-suspected", scores=but(nesterov_momentum=0),
            description="a pre_run_cell hook spots the hidden tests in the next cell's source and disables them"),
    Fixture("ipython-ast-transformer",
            slim(WRONG_PARAMS, solution_cell("momentum_optimal_params", append=_AST_TRANSFORMER)),
            status="tamper-suspected", scores=but(momentum_optimal_params=0),
            description="an AST transformer drops every top-level call of later cells (the checks)"),
    # detecting the grader
    Fixture("right-only-at-home", slim(solution_cell("sgd_momentum", source=_HONEST_ONLY_AT_HOME)),
            status="graded", scores=but(sgd_momentum=0),
            description="sgd_momentum is right unless env/user/cwd/argv/mounts look like grading"),
    Fixture("right-only-in-kernel", slim(solution_cell("nesterov_momentum", source=_RIGHT_ONLY_IN_KERNEL)),
            status="tamper-suspected", scores=but(nesterov_momentum=0),
            description="nesterov_momentum is right only inside an IPython kernel (where the tests run)"),
    # lying return values
    Fixture("always-equal-object", slim(solution_cell("momentum_optimal_params", source=_ALWAYS_EQUAL)),
            status="graded", scores=but(momentum_optimal_params=0),
            description="returns objects equal to everything, with no difference from anything"),
    Fixture("float-subclass", slim(solution_cell("momentum_optimal_params", source=_FLOAT_SUBCLASS)),
            status="graded", scores=but(momentum_optimal_params=0),
            description="returns float subclasses whose ==, - and abs lie"),
    Fixture("ndarray-subclass", slim(solution_cell("sgd_momentum", source=_NDARRAY_SUBCLASS)),
            status="graded", scores=but(sgd_momentum=0),
            description="returns an ndarray subclass whose ==, ufuncs and differences lie"),
    Fixture("array-lookalike", slim(solution_cell("nesterov_momentum", source=_ARRAY_INTERFACE)),
            status="graded", scores=but(nesterov_momentum=0),
            description="returns an object with __array__, shape and dtype that is equal to everything"),
    Fixture("dict-subclass-config", slim(solution_cell("sgd_momentum", source=_DICT_SUBCLASS)),
            status="graded", scores=but(sgd_momentum=0),
            description="returns its config as a dict subclass that equals everything and invents missing keys"),
    Fixture("nan-answers", slim(solution_cell("momentum_optimal_params", source=_NAN)),
            status="graded", scores=but(momentum_optimal_params=0),
            description="returns NaN, which slips through comparisons written as `not err > tol`"),
]
