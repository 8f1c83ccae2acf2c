"""Merge rows of a partial run (run.py --datasets/--contenders --out DIR) into a
results file, replacing rows of the same dataset and contender and adding new
ones after the last row of their dataset's iterflow contenders, with a note
that says what was rerun, when and why. The markdown is rewritten from the
merged JSON.

    python benchmarks/merge_rows.py RESULTS.json PARTIAL.json [PARTIAL.json ...] --why "..."
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("partial", nargs="+")
    ap.add_argument("--why", required=True, help="why the rows were rerun or added (goes into the note)")
    args = ap.parse_args()
    import run  # the harness: its markdown() renders the file
    res = json.load(open(args.results))
    notes = res.setdefault("notes", [])
    for path in args.partial:
        part = json.load(open(path))
        names = sorted({r["contender"] for r in part["table"] if "contender" in r})
        for r in part["table"]:
            if "contender" not in r:
                continue
            rows = res["table"]
            same = [i for i, o in enumerate(rows) if o.get("dataset") == r["dataset"] and o.get("contender") == r["contender"]]
            if same:
                rows[same[0]] = r
                continue
            pos = [i for i, o in enumerate(rows) if o.get("dataset") == r["dataset"]]
            ours = [i for i in pos if o_is_iterflow(rows[i])]
            at = (ours or pos or [len(rows) - 1])[-1] + 1
            rows.insert(at, r)
        v = part["versions"]
        notes.append(f"Rows of {', '.join(names)} on {', '.join(sorted({r['dataset'] for r in part['table']}))} "
                     f"come from a later run at iterflow {v['iterflow_commit']} (started {part['setup']['started']}, "
                     f"load average {v['load_average_at_start'][0]:.1f} at start): {args.why.rstrip('.')}.")
    with open(args.results, "w") as f:
        json.dump(res, f, indent=1, default=float)
    with open(os.path.splitext(args.results)[0] + ".md", "w") as f:
        f.write(run.markdown(res))


def o_is_iterflow(row):
    return row.get("contender", "").startswith("iterflow")


if __name__ == "__main__":
    main()
