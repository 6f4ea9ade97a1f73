"""The class report: one page an instructor opens after grading (``OUT/report.html``, and its data in
``OUT/report.json``).

It is built from the results ``nnopt-grade`` stored in ``OUT/results/`` (so it can be rebuilt
without grading again: ``nnopt-grade report OUT``) and shows

* the score distribution and each exercise's pass rate, as figures embedded in the page;
* per exercise, **the mistakes the class made most**: a failed exercise is counted under the
  mistake the grader named in its hint ("the velocity adds +learning_rate·dw..."), under "not
  implemented yet", or under "unrecognised" when the grader could not name it — what to re-teach;
* the submissions that need a person (timeout, kernel died, malformed, tampering suspected,
  restored cells...), with the student, the grader's notes and a link to the feedback.

The page stands alone: no script, no request to anything outside it (the figures are PNG data
URLs), and everything a submission controls (student ids, notes) is escaped.
"""

from __future__ import annotations

import base64
import collections
import html
import io
import json
from pathlib import Path

__all__ = ["build_report", "render_html", "write_report", "classify", "NEEDS_A_PERSON"]

#: Statuses an instructor should look at, most urgent first (see ``status.PRIORITY``).
NEEDS_A_PERSON = ("grader-error", "bad-student-id", "no-notebook", "malformed", "tamper-suspected", "memory",
                  "process-limit", "disk-limit", "timeout", "kernel-died", "missing-cells-restored", "unsandboxed")
NOT_IMPLEMENTED = "not implemented yet"
UNRECOGNISED = "unrecognised (no known mistake matches)"


def classify(exercise: dict) -> str | None:
    """What went wrong with one graded function of one submission, in words that are the same for
    every student who made the same mistake; None when it passed."""
    if exercise.get("passed"):
        return None
    outcome = exercise.get("outcome", "")
    if outcome == "not-implemented":
        return NOT_IMPLEMENTED
    for problem in exercise.get("problems") or []:
        if " Hint: " in str(problem):
            return " ".join(str(problem).split(" Hint: ", 1)[1].split())[:300]
    if outcome in ("missing", "timeout", "no-notebook", "malformed"):
        return {"missing": "the function is missing", "timeout": "it ran past its time limit"}.get(outcome, outcome)
    return UNRECOGNISED


def load_results(out_dir: Path) -> list[dict]:
    """The results stored in ``out_dir/results/`` (unreadable files skipped)."""
    found = []
    for path in sorted(Path(out_dir, "results").glob("*.json")):
        try:
            r = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(r, dict) and isinstance(r.get("student_id"), str):
            r["_name"] = path.stem
            found.append(r)
    return found


def build_report(results: list[dict]) -> dict:
    """The report's data (what ``report.json`` holds)."""
    results = sorted(results, key=lambda r: str(r.get("student_id")))
    scores = [float(r.get("score") or 0) for r in results]
    attention = [{"student_id": r["student_id"], "status": r.get("status"), "score": r.get("score"),
                  "notes": [str(n)[:300] for n in (r.get("notes") or [])[:6]],
                  "feedback": _feedback_link(r)}
                 for r in results if r.get("status") in NEEDS_A_PERSON]
    attention.sort(key=lambda a: (NEEDS_A_PERSON.index(a["status"]), a["student_id"]))
    statuses = collections.Counter(r.get("status") for r in results)
    assignments = sorted({str(r.get("assignment")) for r in results if r.get("assignment")})
    return {"assignment": ", ".join(assignments), "submissions": len(results),
            "max_score": max([float(r.get("max_score") or 0) for r in results] or [0]),
            "scores": scores, "mean": sum(scores) / len(scores) if scores else None,
            "median": _median(scores), "statuses": dict(statuses.most_common()), "exercises": _exercises(results),
            "needs_a_person": attention}


def _exercises(results: list[dict]) -> dict:
    """Per exercise: points, submissions, passed, pass rate, and the mistakes, most common first."""
    exercises: dict = {}
    for r in results:
        for name, ex in (r.get("exercises") or {}).items():
            e = exercises.setdefault(name, {"points": float(ex.get("points") or 0), "submissions": 0, "passed": 0,
                                            "mistakes": collections.Counter()})
            e["submissions"] += 1
            what = classify(ex)
            if what is None:
                e["passed"] += 1
            else:
                e["mistakes"][what] += 1
    for e in exercises.values():
        e["pass_rate"] = e["passed"] / e["submissions"] if e["submissions"] else 0.0
        e["mistakes"] = [{"mistake": m, "count": n} for m, n in e["mistakes"].most_common()]
    return exercises


def _median(xs: list[float]):
    if not xs:
        return None
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def _feedback_link(r: dict) -> str | None:
    if not r.get("feedback_html") or "_name" not in r:
        return None
    return f"feedback/{r['_name']}/{r.get('assignment')}/{Path(str(r.get('notebook'))).stem}.html"


# ---------------------------------------------------------------------------------------------
# The page


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(report: dict) -> tuple[str, str]:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(5.5, 3))
    ax = fig.add_subplot()
    top = report["max_score"] or 1
    ax.hist(report["scores"], bins=min(20, max(5, int(top * 2))), range=(0, top), color="#4477aa", edgecolor="white")
    ax.set(xlabel=f"score (out of {top:g})", ylabel="submissions", title="Score distribution")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    hist = _png(fig)

    names = list(report["exercises"])
    fig = Figure(figsize=(5.5, 0.5 + 0.45 * max(len(names), 1)))
    ax = fig.add_subplot()
    rates = [100 * report["exercises"][n]["pass_rate"] for n in names]
    ax.barh(names[::-1], rates[::-1], color="#228833")
    ax.set(xlim=(0, 100), xlabel="% of submissions that passed", title="Pass rate per exercise")
    return hist, _png(fig)


_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;
vertical-align:top}th{background:#f4f4f4}.n{text-align:right}img{max-width:100%}code{background:#f4f4f4;font-size:1em}"""


def render_html(report: dict) -> str:
    """The page (see the module docstring)."""
    e = html.escape
    hist, rates = _figures(report)
    mean = "–" if report["mean"] is None else f"{report['mean']:.2f}"
    median = "–" if report["median"] is None else f"{report['median']:g}"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
             f"style-src 'unsafe-inline'\"><title>Class report: {e(report['assignment'])}</title>"
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>Class report: {e(report['assignment'])}</h1>",
             f"<p>{report['submissions']} submissions; mean score {mean}, median {median} "
             f"(out of {report['max_score']:g}). Statuses: "
             + ", ".join(f"{e(str(s))} {n}" for s, n in report["statuses"].items()) + ".</p>",
             f"<img alt='score distribution' src='{hist}'> <img alt='pass rate per exercise' src='{rates}'>",
             "<h2>What the class got wrong</h2>",
             "<p>Per exercise, how many submissions failed for each reason: the mistake the grader "
             "recognised (its hint), not implemented, or unrecognised.</p>"]
    for name, ex in report["exercises"].items():
        parts.append(f"<h3><code>{e(name)}</code> ({ex['points']:g} points): passed by {ex['passed']} of "
                     f"{ex['submissions']} ({100 * ex['pass_rate']:.0f}%)</h3>")
        if ex["mistakes"]:
            parts.append("<table><tr><th class='n'>students</th><th>mistake</th></tr>"
                         + "".join(f"<tr><td class='n'>{m['count']}</td><td>{e(m['mistake'])}</td></tr>"
                                   for m in ex["mistakes"]) + "</table>")
    parts.append("<h2>Submissions that need a person</h2>")
    if report["needs_a_person"]:
        rows = []
        for a in report["needs_a_person"]:
            link = f"<a href='{e(a['feedback'])}'>feedback</a>" if a["feedback"] else "–"
            notes = "<br>".join(e(n) for n in a["notes"]) or "–"
            rows.append(f"<tr><td>{e(a['student_id'])}</td><td>{e(str(a['status']))}</td>"
                        f"<td class='n'>{e(str(a['score']))}</td><td>{notes}</td><td>{link}</td></tr>")
        parts.append("<table><tr><th>student</th><th>status</th><th class='n'>score</th><th>notes</th><th></th></tr>"
                     + "".join(rows) + "</table>")
    else:
        parts.append("<p>None: every submission was graded without anything to look at.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out_dir: Path, results: list[dict] | None = None) -> Path:
    """Write ``report.html`` and ``report.json`` into ``out_dir`` from its ``results/``; the page's path."""
    out_dir = Path(out_dir)
    report = build_report(load_results(out_dir) if results is None else results)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    page = out_dir / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    return page
