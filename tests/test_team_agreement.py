"""Agreement figures against an independent computation (pixel sets and brute-force boundary distances), and
the report naming the annotator who confuses two classes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.project import Project
from engine.team import assign, measure_agreement, merge_projects
from tests.test_project_store import H, W, make_cadis


def _pixels(label, c):
    return {(y, x) for y in range(label.shape[0]) for x in range(label.shape[1]) if label[y, x] == c}


def _boundary(points, h, w):
    out = set()
    for y, x in points:
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            ny, nx = min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)
            if (ny, nx) not in points:
                out.add((y, x))
    return out


def _matched(a, b, tol):
    return sum(1 for (y, x) in a if any(max(abs(y - v), abs(x - u)) <= tol for (v, u) in b))


def _independent(frames_a, frames_b, c, tol):
    """Pooled IoU and boundary F of class c over frames, from pixel coordinate sets."""
    inter = union = ma = na = mb = nb = 0
    for la, lb in zip(frames_a, frames_b):
        pa, pb = _pixels(la, c), _pixels(lb, c)
        inter += len(pa & pb)
        union += len(pa | pb)
        ba, bb = _boundary(pa, *la.shape), _boundary(pb, *lb.shape)
        ma += _matched(ba, bb, tol)
        na += len(ba)
        mb += _matched(bb, ba, tol)
        nb += len(bb)
    p = ma / na if na else 1.0
    r = mb / nb if nb else 1.0
    return inter / union, (2 * p * r / (p + r) if p + r else 0.0)


@pytest.fixture
def merged(tmp_path):
    data = make_cadis(tmp_path / "cadis", videos=(1,), frames=(10, 20, 30))
    assign(data, "ana,ben,chen", tmp_path / "team", overlap=3)
    rng = np.random.default_rng(5)
    versions = {n: [] for n in ("ana", "ben", "chen")}
    keys = None
    for name in ("ana", "ben", "chen"):
        with Project.open_or_create(tmp_path / "team" / f"{name}.cadis-project") as p:
            keys = p.frame_keys()
            for i, key in enumerate(keys):
                lab = np.zeros((H, W), np.uint8)
                lab[4:18, 6 + i:30] = 5  # a shared region
                lab[8:12, 12:20] = 7  # a thin structure inside it
                if name == "ben":  # boundary jitter
                    lab[4:18, 30:31 + int(rng.integers(0, 3))] = 5
                if name == "chen":  # confuses 5 with 6
                    lab[lab == 5] = 6
                versions[name].append(lab)
                p.save_label(key, lab)
    out = tmp_path / "merged.cadis-project"
    merge_projects([tmp_path / "team" / f"{n}.cadis-project" for n in ("ana", "ben", "chen")], out)
    return out, versions, keys


def test_pair_figures_match_an_independent_computation(merged):
    out, versions, keys = merged
    with Project.open_or_create(out, read_only=True) as m:
        report = measure_agreement(m, tol=2, min_pixels=1)
    assert report.frames == keys and report.authors == ["ana", "ben", "chen"]
    for a, b in (("ana", "ben"), ("ana", "chen"), ("ben", "chen")):
        pair = report.pairs[f"{a}|{b}"]
        for c in (0, 5, 7):
            want_iou, want_bf = _independent(versions[a], versions[b], c, 2)
            assert pair["classes"][c]["iou"] == pytest.approx(want_iou)
            assert pair["classes"][c]["boundary_f"] == pytest.approx(want_bf)
        differ = sum(int((x != y).sum()) for x, y in zip(versions[a], versions[b]))
        assert pair["disputed"] == pytest.approx(differ / (3 * H * W))
    # the share of class 5's pixels in dispute: some version says 5 and the versions do not all agree
    any5 = dis5 = 0
    for la, lb, lc in zip(versions["ana"], versions["ben"], versions["chen"]):
        has = (la == 5) | (lb == 5) | (lc == 5)
        agree = (la == lb) & (lb == lc)
        any5 += int(has.sum())
        dis5 += int((has & ~agree).sum())
    assert report.classes[5]["disputed"] == pytest.approx(dis5 / any5)


def test_report_names_the_confused_classes_and_the_annotator(merged, tmp_path, capsys):
    out, _versions, _keys = merged
    with Project.open_or_create(out, read_only=True) as m:
        report = measure_agreement(m)
    assert set(report.most_disputed(at_least=2)[:2]) == {5, 6}
    assert [d["class"] for d in report.departures["chen"]][:1] in ([6], [5])
    named = {(d["class"], d["instead"]) for d in report.departures["chen"]}
    assert (5, 6) in named or (6, 5) in named
    assert report.departures["ana"] == [] and report.departures["ben"] == []
    js = tmp_path / "agreement.json"
    assert main(["agreement", str(out), "--json", str(js)]) == 0
    text = capsys.readouterr().out
    assert "chen departs from the majority on:" in text
    data = json.loads(js.read_text())
    assert data["annotators"] == ["ana", "ben", "chen"] and len(data["frames"]) == 3
    assert main(["agreement", str(tmp_path / "nothing")]) == 2
    chart = tmp_path / "chart.png"
    assert main(["agreement", str(out), "--chart", str(chart)]) == 0
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the chart needs matplotlib, which the app does not install: skipped, and said so
        assert "chart skipped: matplotlib is not installed" in capsys.readouterr().out and not chart.exists()
    else:
        assert chart.is_file()
