"""Compare two snapshots :mod:`bench.traced` dumped: what grew between them, the largest first.

``python -m bench.traced_diff OLD.snap NEW.snap [--by traceback|lineno|filename] [--top 15]``
prints each entry's growth, its size and count in the newer snapshot, and (by traceback) its
frames, innermost last. The tracer's own frames (tracemalloc, this bench) are left out.
"""

from __future__ import annotations

import argparse
import tracemalloc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--by", default="traceback", choices=("traceback", "lineno", "filename"))
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    leave_out = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "*/bench/traced.py"),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
    ]
    old = tracemalloc.Snapshot.load(args.old).filter_traces(leave_out)
    new = tracemalloc.Snapshot.load(args.new).filter_traces(leave_out)
    total_old = sum(s.size for s in old.statistics("filename"))
    total_new = sum(s.size for s in new.statistics("filename"))
    print(f"traced: {total_old / 2**20:.2f} MB -> {total_new / 2**20:.2f} MB")
    for stat in new.compare_to(old, args.by)[: args.top]:
        print(
            f"{stat.size_diff / 1024:+9.1f} KiB ({stat.count_diff:+d} blocks), now "
            f"{stat.size / 1024:.1f} KiB in {stat.count}"
        )
        if args.by == "traceback":
            for line in stat.traceback.format()[-16:]:
                print("    " + line.strip())
        else:
            print("    " + str(stat.traceback[0]))


if __name__ == "__main__":
    main()
