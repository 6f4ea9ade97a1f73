"""Tests of nnopt_helpers.checks on made-up exercises with expected data written to a tmp dir.

The exercises here ("scale_by_two", "decayed_step") are invented for the tests; their reference
implementations live only in this file.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnopt_helpers import checks, surfaces
from nnopt_helpers.checks import CheckFailed, run_check

X = np.linspace(-1.0, 2.0, 6).reshape(2, 3)
W0 = np.linspace(-0.5, 0.5, 4)
GRADS = [np.linspace(1.0, 2.0, 4), np.linspace(-1.0, 0.5, 4), np.linspace(0.3, -0.3, 4)]


# ---- references of the made-up exercises (test-local) -----------------------------------------


def scale_by_two(x):
    return 2.0 * x


def decayed_step(w, dw, config=None):
    """v = 0.5 v + dw; next_w = w − learning_rate · v. Keys: learning_rate (0.1), velocity (zeros)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 0.1)
    v = 0.5 * config.get("velocity", np.zeros_like(w)) + dw
    config["velocity"] = v
    return w - config["learning_rate"] * v, config


def _reference_run(rule, steps, config):
    w, outs = W0.copy(), {"next_w": [], "velocity": [], "learning_rate": []}
    for dw in steps:
        w, config = rule(w, dw, config)
        outs["next_w"].append(w)
        outs["velocity"].append(config["velocity"])
        outs["learning_rate"].append(config["learning_rate"])
    return {k: np.array(v) for k, v in outs.items()}


def _wrong_sign_step(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 0.1)
    v = 0.5 * config.get("velocity", np.zeros_like(w)) + dw
    config["velocity"] = v
    return w + config["learning_rate"] * v, config


@pytest.fixture
def expected_file(tmp_path):
    """A tiny expected-data file, written with the public save_expected: public cases of the hidden tests' drivers."""
    path = tmp_path / "99_made_up.json"
    checks.save_expected({
        "scale_by_two": {
            "driver": "function",
            "case": {"args": [X], "kwargs": {}},
            "expected": {"out": scale_by_two(X)},
            "mistakes": [{"name": "scale_by_three", "outputs": {"out": 3.0 * X},
                          "message": "You multiplied by three; the exercise scales by two."}],
            "tol": 1e-7,
        },
        "decayed_step": {
            "driver": "update_rule",
            "case": {"w": W0, "dws": GRADS, "config": {}, "record": ["velocity", "learning_rate"]},
            "expected": _reference_run(decayed_step, GRADS, {}),
            "mistakes": [{"name": "wrong sign", "outputs": _reference_run(_wrong_sign_step, GRADS, {}),
                          "message": "Your step goes uphill: next_w should be w − learning_rate · v."}],
        },
        "decayed_step_one": {
            "driver": "update_rule",
            "case": {"w": W0, "dws": [GRADS[0]], "config": None, "record": ["velocity"]},
            "expected": {"next_w": decayed_step(W0, GRADS[0])[0], "velocity": GRADS[0]},
        },
        "min_and_max": {
            "driver": "function",
            "case": {"args": [X], "kwargs": {"axis": 0}},
            "expected": {"lo": X.min(axis=0), "hi": X.max(axis=0)},
        },
        "rosen_grad": {
            "driver": "surface_function",
            "case": {"surface": {"name": "rosenbrock"}, "args": ["@grad", [0.5, -0.5]], "kwargs": {}},
            "expected": {"g": surfaces.rosenbrock().grad(np.array([0.5, -0.5]))},
        },
        "classify": {
            "driver": "function",
            "case": {"args": [1.0], "kwargs": {}},
            "expected": {"kind": "minimum"},
        },
        "tiny": {
            "driver": "function",
            "case": {"args": [X], "kwargs": {}},
            "expected": {"out": np.zeros_like(X)},
            "atol": 1e-12,
        },
    }, path)
    return path


def check(name, fn, path, **kw):
    return run_check(None, name, fn, path=path, **kw)


# ---- the function driver -----------------------------------------------------------------


def test_correct_function_passes_and_prints_a_tick(expected_file, capsys):
    check("scale_by_two", scale_by_two, expected_file)
    out = capsys.readouterr().out
    assert out.startswith("✓ scale_by_two: out match (rel. error")
    assert out.count("\n") == 1


def test_known_mistake_is_named(expected_file):
    with pytest.raises(CheckFailed, match="You multiplied by three") as info:
        check("scale_by_two", lambda x: 3.0 * x, expected_file)
    assert isinstance(info.value, AssertionError)
    assert str(info.value).startswith("✗ scale_by_two:")


def test_not_implemented_is_explained(expected_file):
    def scale_by_two(x):
        raise NotImplementedError

    # Still a NotImplementedError (an untouched exercise is "not done", not "wrong"), with the hint.
    with pytest.raises(NotImplementedError, match="You have not implemented scale_by_two yet") as info:
        check("scale_by_two", scale_by_two, expected_file)
    assert not isinstance(info.value, CheckFailed)


def test_none_is_explained(expected_file):
    def scale_by_two(x):
        y = 2.0 * x  # noqa: F841 - the classic missing return

    with pytest.raises(CheckFailed, match=r"scale_by_two returned None.*return"):
        check("scale_by_two", scale_by_two, expected_file)


def test_other_exception_is_reported_with_its_cause(expected_file):
    def scale_by_two(x):
        return x @ np.ones(5)

    with pytest.raises(CheckFailed, match="scale_by_two raised ValueError") as info:
        check("scale_by_two", scale_by_two, expected_file)
    assert isinstance(info.value.__cause__, ValueError)


def test_mutated_input_is_detected_even_when_the_result_is_right(expected_file):
    def scale_by_two(x):
        x *= 2.0
        return x

    with pytest.raises(CheckFailed, match="modified its input argument 1 in place"):
        check("scale_by_two", scale_by_two, expected_file)


def test_wrong_shape_is_explained(expected_file):
    with pytest.raises(CheckFailed, match=r"out has shape \(6, 1\), expected shape \(2, 3\).*reshape"):
        check("scale_by_two", lambda x: (2.0 * x).reshape(-1, 1), expected_file)
    with pytest.raises(CheckFailed, match=r"out has shape \(3,\), expected shape \(2, 3\)"):
        check("scale_by_two", lambda x: 2.0 * x[0], expected_file)


def test_a_modified_input_is_named_by_position(tmp_path):
    def update_stats(x, stats, scale=1.0):
        stats["mean"] += x.mean(axis=0)  # changes the caller's dict in place
        return scale * x.sum()

    path = tmp_path / "m.json"
    checks.save_expected({"strict": {"driver": "function", "case": {"args": [X, {"mean": np.zeros(3)}], "kwargs": {}},
                                     "expected": {"total": X.sum()}}}, path)
    with pytest.raises(CheckFailed, match=r"modified its input argument 2 in place"):
        run_check(None, "strict", update_stats, path=path)


def test_dtype_and_nan_are_explained(expected_file):
    with pytest.raises(CheckFailed, match="integer array"):
        check("scale_by_two", lambda x: (2 * x).astype(int), expected_file)
    with pytest.raises(CheckFailed, match="float32"):
        check("scale_by_two", lambda x: (2 * x).astype(np.float32), expected_file)
    with pytest.raises(CheckFailed, match=r"contains NaN in 1 of 6 entries \(first at index \(0, 1\)\)"):
        check("scale_by_two", lambda x: np.where(x == x[0, 1], np.nan, 2 * x), expected_file)
    with pytest.raises(CheckFailed, match="should be a NumPy array, got str"):
        check("scale_by_two", lambda x: "2x", expected_file)


def test_unknown_mismatch_names_output_error_and_values(expected_file):
    with pytest.raises(CheckFailed) as info:
        check("scale_by_two", lambda x: 2.0 * x + np.eye(2, 3), expected_file)
    text = str(info.value)
    assert "out does not match: relative error" in text and "tolerance 1e-07" in text
    assert "Largest difference at index (0, 0): expected -2, got -1" in text
    assert "expected:" in text and "got:" in text


def test_tuple_outputs_are_named_in_order(expected_file, capsys):
    check("min_and_max", lambda x, axis: (x.min(axis=axis), x.max(axis=axis)), expected_file)
    assert "✓ min_and_max: lo and hi match" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"should return 2 values \(lo, hi\), got one ndarray"):
        check("min_and_max", lambda x, axis: x.min(axis=axis), expected_file)
    with pytest.raises(CheckFailed, match="hi does not match"):
        check("min_and_max", lambda x, axis: (x.min(axis=axis), x.min(axis=axis)), expected_file)


def test_surface_input(expected_file):
    check("rosen_grad", lambda grad_fn, x: grad_fn(np.asarray(x)), expected_file, quiet=True)


def test_strings_and_atol(expected_file):
    check("classify", lambda h: "minimum", expected_file, quiet=True)
    with pytest.raises(CheckFailed, match="kind is 'saddle', expected 'minimum'"):
        check("classify", lambda h: "saddle", expected_file)
    check("tiny", lambda x: 1e-15 * x, expected_file, quiet=True)
    with pytest.raises(CheckFailed, match="does not match"):
        check("tiny", lambda x: 1e-9 * x, expected_file)


# ---- the update_rule driver --------------------------------------------------------------


def test_multi_step_update_rule_passes(expected_file, capsys):
    check("decayed_step", decayed_step, expected_file)
    assert "✓ decayed_step: next_w, velocity and learning_rate match" in capsys.readouterr().out


def test_single_step_with_config_none(expected_file, capsys):
    check("decayed_step_one", decayed_step, expected_file)
    assert "✓ decayed_step_one" in capsys.readouterr().out


def test_update_rule_known_mistake(expected_file):
    with pytest.raises(CheckFailed, match="Your step goes uphill"):
        check("decayed_step", _wrong_sign_step, expected_file)


def test_state_not_stored_back_is_explained(expected_file):
    def decayed_step(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 0.1)
        v = 0.5 * config.get("velocity", np.zeros_like(w)) + dw  # never stored back
        return w - config["learning_rate"] * v, config

    with pytest.raises(CheckFailed, match=r"After step 1 the returned config has no 'velocity'\. Store the state back"):
        check("decayed_step", decayed_step, expected_file)


def test_stale_state_is_explained(expected_file):
    def decayed_step(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 0.1)
        v = 0.5 * config.setdefault("velocity", np.zeros_like(w)) + dw  # the new v is never stored
        return w - config["learning_rate"] * v, config

    with pytest.raises(CheckFailed) as info:
        check("decayed_step", decayed_step, expected_file)
    text = str(info.value)
    assert "next_w does not match from step 2 of 3 on" in text
    assert "config['velocity'] stays the same from step to step" in text


def test_config_not_returned_is_explained(expected_file):
    with pytest.raises(CheckFailed, match="returned a single array"):
        check("decayed_step", lambda w, dw, config=None: decayed_step(w, dw, config)[0], expected_file)
    with pytest.raises(CheckFailed, match="config=None"):
        check("decayed_step", lambda w, dw, config=None: (decayed_step(w, dw, config)[0], None), expected_file)
    with pytest.raises(CheckFailed, match=r"the order is `return next_w, config`"):
        check("decayed_step", lambda w, dw, config=None: decayed_step(w, dw, config)[::-1], expected_file)


def test_missing_default_is_explained(expected_file):
    def decayed_step(w, dw, config=None):
        config = {} if config is None else config
        v = 0.5 * config.get("velocity", np.zeros_like(w)) + dw
        config["velocity"] = v
        return w - 0.1 * v, config  # right values, but learning_rate never set into config

    with pytest.raises(CheckFailed, match=r"no 'learning_rate'\. Fill in the defaults.*setdefault"):
        check("decayed_step", decayed_step, expected_file)


def test_in_place_update_rule_is_detected(expected_file):
    def decayed_step(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 0.1)
        v = 0.5 * config.get("velocity", np.zeros_like(w)) + dw
        config["velocity"] = v
        w -= config["learning_rate"] * v
        return w, config

    with pytest.raises(CheckFailed, match="modified its input w in place"):
        check("decayed_step", decayed_step, expected_file)


# ---- loading -----------------------------------------------------------------------------------


def test_load_expected_decodes_arrays(expected_file):
    data = checks.load_expected(path=expected_file)
    assert list(checks.load_expected(str(expected_file))) == list(data)  # a .json path as first argument
    entry = data["decayed_step"]
    assert entry["expected"]["next_w"].dtype == np.float64 and entry["expected"]["next_w"].shape == (3, 4)
    assert isinstance(entry["case"]["dws"], list) and len(entry["case"]["dws"]) == 3
    assert entry["case"]["config"] == {} and entry["driver"] == "update_rule"
    args = data["scale_by_two"]["case"]["args"]
    assert isinstance(args, list) and args[0].shape == (2, 3)
    assert data["scale_by_two"]["tol"] == 1e-7
    assert data["scale_by_two"]["mistakes"][0]["outputs"]["out"].shape == (2, 3)


def test_decode_special_values():
    raw = {"ints": {"__array__": [[1, 2]], "dtype": "int64", "shape": [1, 2]},
           "empty": {"__array__": [], "dtype": "float64", "shape": [0, 2]},
           "ragged": [[1.0, 2.0], [3.0]], "flags": [True, False], "n": 3, "s": "saddle", "none": None,
           "mixed": [1.0, "a"], "weights": {"__list__": [[[1.0]], [[2.0]]]}}
    out = checks.decode(json.loads(json.dumps(raw)))
    assert out["ints"].dtype == np.int64 and out["empty"].shape == (0, 2)
    assert isinstance(out["ragged"], list) and out["ragged"][1].shape == (1,)
    assert out["flags"].dtype == bool and out["n"] == 3 and type(out["n"]) is int
    assert out["s"] == "saddle" and out["none"] is None and out["mixed"][1] == "a"
    assert isinstance(out["weights"], list) and out["weights"][1].shape == (1, 1)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
                  elements=st.floats(-1e6, 1e6)))
def test_encode_decode_round_trip(arr):
    back = checks.decode(json.loads(json.dumps(checks.encode({"a": arr}))))["a"]
    np.testing.assert_array_equal(np.asarray(back), arr)
    assert np.shape(back) == arr.shape


def test_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no expected data for assignment 'no_such_assignment'"):
        checks.load_expected("no_such_assignment")
    with pytest.raises(ValueError, match="not an assignment id"):
        checks.load_expected("../etc/passwd")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"x": {"case": {}}}))
    with pytest.raises(ValueError, match="'x' has no 'expected'"):
        checks.load_expected(path=bad)


def test_unknown_check_name(expected_file):
    with pytest.raises(KeyError, match="no check named 'nope'"):
        check("nope", scale_by_two, expected_file)


def test_shipped_expected_files_are_well_formed():
    """Every JSON under nnopt_helpers/expected/ loads and has the documented fields."""
    from autograder.drivers import DRIVERS

    assert (checks._expected_dir() / "README.md").is_file()
    for assignment in checks.list_expected():
        for name, entry in checks.load_expected(assignment).items():
            assert set(entry) <= {"driver", "view", "case", "expected", "mistakes", "tol", "atol"}, name
            assert entry["driver"] in DRIVERS and checks.view(entry) is not None, (assignment, name)
            for m in entry.get("mistakes", []):
                assert {"name", "outputs", "message"} <= set(m), (assignment, name)


def test_rel_error():
    assert checks.rel_error(1.0, 1.0) == 0.0
    assert checks.rel_error([1.0, 2.0], [1.0, 4.0]) == pytest.approx(2 / 6)
    assert checks.rel_error(0.0, 1e-12) == pytest.approx(1e-4)


def test_an_array_where_a_number_is_expected_is_refused():
    """As in the hidden tests (autograder.spec.compare_plain): an array is not a number, even a 0-d one."""
    entry = {"expected": {"rate": 0.5}}
    checks.check_outputs("rate", {"rate": 0.5}, entry, quiet=True)
    checks.check_outputs("rate", {"rate": np.float64(0.5)}, entry, quiet=True)
    for value in (np.array(0.5), np.array([0.5])):
        with pytest.raises(CheckFailed, match="should be a number, got a NumPy array"):
            checks.check_outputs("rate", {"rate": value}, entry, quiet=True)


def test_a_shape_mismatch_names_the_axis():
    """An unsummed dgamma with N = D = 4 is told which axis is one too many, not just two shapes."""
    from autograder.plain import compare_plain, shape_hint

    assert "axis 0 (length 4): is a sum or mean over axis 0 missing" in shape_hint((4, 4), (4,))
    assert "axis 1 (length 3)" in shape_hint((5, 3), (5,))
    assert "Axis 1 (length 3) is missing" in shape_hint((5,), (5, 3))
    assert "transpose" in shape_hint((3, 5), (5, 3))
    assert "right number of entries" in shape_hint((6, 1), (2, 3))
    assert shape_hint((7,), (2, 3)) == ""
    (problem,) = compare_plain(np.zeros(4), np.ones((4, 4)), where="dgamma")
    assert problem.startswith("dgamma has shape (4, 4), expected (4,). It has one axis too many, axis 0")
