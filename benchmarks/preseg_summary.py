"""Tables of `benchmarks.bench_preseg` results files: mean and spread over draws, per-class IoU, wins.

    python -m benchmarks.bench_preseg --summary FILE.jsonl [FILE.jsonl ...]
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path


def print_resources(rec: dict) -> None:
    cpu = rec.get("cpu_s_per_frame", {})
    per = ", ".join(f"{s:.2f} s at {n} thread{'s' if n != '1' else ''}"
                    + (f" (process CPU time {cpu[n]:.2f} s)" if n in cpu else "") for n, s in rec["s_per_frame"].items())
    print(f"\npeak RSS of training the default head on {rec['frames']} frames: {rec['peak_rss_train_mb'] / 1024:.2f} GiB "
          f"(target <= 4 GB; {rec['train_s']:.0f} s); with prediction {rec['peak_rss_total_mb'] / 1024:.2f} GiB; "
          f"per {rec['size']} frame: {per} (target <= 1.5 s); load average {rec['load_average']} on "
          f"{rec['cpus']} CPUs", flush=True)


def probe_flags(records: list[dict]) -> str:
    """Share of each probe kind flagged over the records that scored probes ('' when none did)."""
    rs = [r for r in records if r.get("probes")]
    if not rs:
        return ""
    shares = []
    for kind in ("noise", "recoloured", "blurred", "other_style"):
        flags = [s > r["threshold"] for r in rs for s in (r["probes"][kind] if kind == "other_style"
                                                           else [r["probes"][kind]])]
        shares.append(f"{statistics.mean(flags):.0%}")
    return "/".join(shares)


def summary(paths: Path | list[Path], draw: str = "reported") -> None:
    """Mean +- spread over draws for every (style, regime, k, method), and per-class IoU, over the records
    of one or more results files (e.g. the files of runs that each finished part of the protocol)."""
    from benchmarks._timing import print_table
    from engine.taxonomy import get_class_set

    paths = [paths] if isinstance(paths, Path) else list(paths)
    records = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]
    for r in records:
        if r.get("draw") == "resources":
            print_resources(r)
    records = [r for r in records if r.get("draw") == draw]
    for r in records:  # head records of the defaults before 2026-12-02 carry no head_defaults
        if draw == "reported" and r["method"] == "head" and not r.get("head_defaults"):
            r["method"] = "head (old defaults)"
    if not records:
        print(f"no {draw} records in {', '.join(map(str, paths))}")
        return
    groups: dict = {}
    for r in records:
        groups.setdefault((r["style"], r["regime"], r["k"], r["method"]), []).append(r)
    rows = []
    for key in sorted(groups, key=lambda t: (t[0], t[1], t[2], t[3])):
        rs = groups[key]
        ms = [r["miou"] for r in rs]
        sd = statistics.stdev(ms) if len(ms) > 1 else float("nan")
        flagged = [r["ood_share"] for r in rs if "ood_share" in r]
        rows.append((*key, len(rs), ",".join(str(r["seed"]) for r in rs), f"{statistics.mean(ms):.3f}",
                     f"{sd:.3f}", f"{statistics.mean(flagged):.0%}" if flagged else "", probe_flags(rs),
                     f"{statistics.median(r['s_per_frame'] for r in rs):.2f}"))
    print_table(f"mIoU on never-labelled videos ({draw} draws; mean and sample std over the draws listed)", rows,
                ("style", "regime", "k", "method", "draws", "seeds", "mIoU", "std", "test frames flagged OOD",
                 "probes flagged: noise/recoloured/blurred/other style",
                 "s / 960x540 frame"))
    names = get_class_set(1).names
    crow = []
    for key in sorted(groups):
        rs = groups[key]
        per = []
        for c in range(len(names)):
            vals = [r["per_class"][c] for r in rs if r["per_class"][c] is not None]
            per.append(f"{statistics.mean(vals):.2f}" if vals else "-")
        crow.append((*key, *per))
    print_table("per-class IoU (mean over the draws)", crow, ("style", "regime", "k", "method", *names))
    wins = {}
    for (style, regime, k, method), rs in groups.items():
        wins.setdefault((style, regime, k), {})[method] = statistics.mean(r["miou"] for r in rs)
    duels = {key: d for key, d in wins.items() if "head" in d and "small UNet" in d}
    beaten = sorted(key for key, d in duels.items() if d["head"] <= d["small UNet"])
    if draw == "reported" and duels:
        print(f"\nhead (current defaults) beats the small UNet in {len(duels) - len(beaten)} of {len(duels)} cells "
              f"with both; not in: {beaten or 'none'}")
