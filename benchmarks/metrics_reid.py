"""ReID mAP / rank-1: the official `SoccerNet.Evaluation.ReIdentification.evaluate` against
`zoo.metrics.reid.evaluate`, on the same `<split>_bbox_info.json` and `ranking_results.json`.

The split is shaped like the real query/gallery splits: actions of 2 to 7 queries (the players of
the action frame seen again in a replay) and 10 to 20 gallery thumbnails (replay boxes plus the
unmatched action-frame boxes) of 4 to 12 people, every bbox_info entry with all its fields. The
ranking comes from noisy per-person embeddings, so the scores are neither 0 nor 1. Both
evaluators read both files on every call; the scores are checked equal to 1e-9.

    python benchmarks/metrics_reid.py [--quick]     (or through benchmarks/metrics.py)
"""

from __future__ import annotations

import contextlib
import io
import json
import pathlib
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from metrics import time_interleaved  # noqa: E402

from zoo.metrics import reid  # noqa: E402


def write_split(
    folder: pathlib.Path, num_queries: int, seed: int = 0
) -> tuple[pathlib.Path, pathlib.Path]:
    """Write `test_bbox_info.json` and `ranking_results.json` with about `num_queries` queries."""
    rng = np.random.default_rng(seed)
    query, gallery = {}, {}
    q_emb, q_act, g_emb, g_act, q_ids, g_ids = [], [], [], [], [], []
    action, person, frame = 0, 0, 0
    while len(query) < num_queries:
        people = np.arange(person, person + int(rng.integers(4, 13)))
        person += len(people)
        centres = rng.normal(size=(len(people), 32))
        queried = rng.choice(people, min(len(people), int(rng.integers(2, 8))), replace=False)
        num_gallery = max(len(queried), int(rng.integers(10, 21)))
        # every queried person appears in the gallery; the rest of it is anyone of the action
        shown = np.concatenate([queried, rng.choice(people, num_gallery - len(queried))])
        for subset, pids, entries, embeddings, actions, ids in (
            ("query", queried, query, q_emb, q_act, q_ids),
            ("gallery", shown, gallery, g_emb, g_act, g_ids),
        ):
            for pid in pids:
                bbox = len(entries)
                height, width = int(rng.integers(40, 400)), int(rng.integers(20, 200))
                entries[str(bbox)] = {
                    "bbox_idx": bbox,
                    "action_idx": action,
                    "person_uid": int(pid),
                    "frame_idx": frame + (0 if subset == "query" else int(rng.integers(1, 4))),
                    "clazz": "Player_team_left",
                    "id": str(int(rng.integers(1, 100))),
                    "UAI": f"{action:06d}r{bbox:06d}",
                    "relative_path": f"england_epl/2016-2017/game/{action}",
                    "height": height,
                    "width": width,
                }
                embeddings.append(centres[pid - people[0]] + rng.normal(scale=1.2, size=32))
                actions.append(action)
                ids.append(bbox)
        action += 1
        frame += 4
    rankings = reid.rank_by_action(
        np.array(q_emb), np.array(q_act), np.array(g_emb), np.array(g_act)
    )
    g_ids = np.array(g_ids)
    gt, ranking = folder / "test_bbox_info.json", folder / "ranking_results.json"
    gt.write_text(json.dumps({"query": query, "gallery": gallery}))
    ranking.write_text(json.dumps({str(q): g_ids[r].tolist() for q, r in zip(q_ids, rankings)}))
    return gt, ranking


def benchmark(quick: bool = False) -> list[dict]:
    from SoccerNet.Evaluation import ReIdentification as official

    def official_evaluate(gt, ranking):
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its results
            return official.evaluate(str(gt), str(ranking))

    rows = []
    for num_queries in (10_000,) if quick else (10_000, 30_000):
        with tempfile.TemporaryDirectory() as tmp:
            gt, ranking = write_split(pathlib.Path(tmp), num_queries)
            document = json.loads(gt.read_text())
            expected, got = official_evaluate(gt, ranking), reid.evaluate(gt, ranking)
            for key in ("mAP", "rank-1"):
                if abs(got[key] - expected[key]) > 1e-9:
                    raise AssertionError(f"{key}: zoo {got[key]} != official {expected[key]}")
            times = time_interleaved(
                {
                    "official": lambda gt=gt, ranking=ranking: official_evaluate(gt, ranking),
                    "zoo": lambda gt=gt, ranking=ranking: reid.evaluate(gt, ranking),
                },
                repeats=3 if quick else 5,
            )
        num_actions = len({e["action_idx"] for e in document["query"].values()})
        rows.append(
            {
                "metric": "ReID mAP + rank-1 (files)",
                "size": f"{len(document['query'])} queries, {len(document['gallery'])} gallery, "
                f"{num_actions} actions",
                "official_s": times["official"],
                "zoo_s": times["zoo"],
                "note": f"mAP {100 * got['mAP']:.2f}, rank-1 {100 * got['rank-1']:.2f}, equal to "
                "1e-9; JSON reading included",
            }
        )
    return rows


if __name__ == "__main__":
    import metrics

    sys.exit(metrics.main(["--only", "reid", *sys.argv[1:]]))
