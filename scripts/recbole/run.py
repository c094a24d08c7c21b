"""Runs RecBole 1.2.1 on a split written by `recagent data export NAME
--recbole DIR` and scores every model's test targets the way `recagent
train --model ease|...` does, under both maskings.

RecBole's own full-sort evaluation masks only the training positives it was
given. This script reads the models' full-sort scores itself and ranks each
target apart from (a) the user's earlier positives ("positives", RecBole's
masking) and (b) every film the user rated before the target ("rated", the
product's masking), with ties broken by catalog order as recagent breaks
them. One JSON line per model and seed goes to --out; a table of means and
sample standard deviations is printed at the end.

Run it through scripts/recbole/run.sh, which builds the venv it needs.
"""

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.utils import get_model, get_trainer, init_seed

SEQUENTIAL = {"SASRec", "GRU4Rec"}
# Models RecBole fits in one pass (no gradient epochs).
ONE_PASS = {"Pop", "ItemKNN", "EASE"}


def read_eval(data_dir, name):
    """phase -> user token -> (target, positives before, unliked before)."""
    out = {"valid": {}, "test": {}}
    with open(os.path.join(data_dir, f"{name}.eval.tsv")) as f:
        next(f)
        for line in f:
            phase, user, target, positives, unliked = line.rstrip("\n").split("\t")
            out[phase][user] = (target, positives.split(), unliked.split())
    return out


def read_items(data_dir, name):
    with open(os.path.join(data_dir, f"{name}.items.tsv")) as f:
        next(f)
        return {line.strip(): i for i, line in enumerate(f)}


def metrics(ranks):
    n = max(len(ranks), 1)
    hit = lambda k: sum(r < k for r in ranks) / n
    return {
        "users": len(ranks),
        "hit1": hit(1),
        "hit10": hit(10),
        "hit50": hit(50),
        "ndcg10": sum(1 / math.log2(r + 2) for r in ranks if r < 10) / n,
    }


def rank_of(scores, order, t, masked):
    """0-based rank of internal item t among unmasked items: higher scores,
    and equal scores earlier in catalog order (recagent's rule)."""
    st = scores[t]
    better = (scores > st) | ((scores == st) & (order < order[t]))
    better[0] = False  # RecBole's padding item
    for m in masked:
        if m != t:
            better[m] = False
    return int(better.sum())


def score_phase(model, loader, dataset, rows, items):
    tokens = dataset.field2id_token["item_id"]
    token_id = {tok: i for i, tok in enumerate(tokens)}
    users = dataset.field2id_token["user_id"]
    # Catalog order of each internal item id; the padding id sorts last.
    order = np.array([items.get(tok, len(items)) for tok in tokens], dtype=np.int64)
    pos_ranks, rated_ranks = [], []
    with torch.no_grad():
        for batch in loader:
            interaction = batch[0]
            scores = model.full_sort_predict(interaction).view(-1, len(tokens)).numpy()
            for row, u in zip(scores, interaction["user_id"].numpy()):
                target, positives, unliked = rows[users[u]]
                t = token_id[target]
                before = [token_id[i] for i in positives if i in token_id]
                low = [token_id[i] for i in unliked if i in token_id]
                pos_ranks.append(rank_of(row, order, t, before))
                rated_ranks.append(rank_of(row, order, t, before + low))
    return {"positives": metrics(pos_ranks), "rated": metrics(rated_ranks)}


def run(model_name, data_dir, name, seed, threads, batch_size=None):
    seq = model_name in SEQUENTIAL
    dataset_name = f"{name}-next-seq" if seq else f"{name}-next"
    columns = ["user_id", "item_id", "timestamp"] + (["item_id_list"] if seq else [])
    checkpoints = tempfile.mkdtemp(prefix="recbole-")
    cfg = {
        "data_path": data_dir,
        "dataset": dataset_name,
        "benchmark_filename": ["train", "valid", "test"],
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "load_col": {"inter": columns},
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
        "metrics": ["Hit", "NDCG"],
        "topk": [10],
        "valid_metric": "NDCG@10",
        "seed": seed,
        "reproducibility": True,
        "device": "cpu",
        "use_gpu": False,
        "show_progress": False,
        "checkpoint_dir": checkpoints,
        "stopping_step": 10,
        "eval_batch_size": 256,
        "save_dataset": False,
        "save_dataloaders": False,
        "log_wandb": False,
    }
    if seq:
        cfg["train_neg_sample_args"] = None
        cfg["loss_type"] = "CE"
    if model_name in ONE_PASS:
        cfg["epochs"] = 1
    if batch_size:
        cfg["train_batch_size"] = batch_size
    torch.set_num_threads(threads)
    config = Config(model=model_name, config_dict=cfg)
    init_seed(seed, True)
    dataset = create_dataset(config)
    train, valid, test = data_preparation(config, dataset)
    init_seed(seed, True)
    model = get_model(config["model"])(config, train._dataset).to("cpu")
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    started = time.time()
    trainer.fit(train, valid, saved=True, show_progress=False)
    fit_s = time.time() - started
    state = torch.load(trainer.saved_model_file, map_location="cpu", weights_only=False)
    model.load_state_dict(state["state_dict"])
    model.load_other_parameter(state.get("other_parameter"))
    model.eval()
    rows = read_eval(data_dir, name)
    items = read_items(data_dir, name)
    return {
        "model": model_name + (f" (batch {batch_size})" if batch_size else ""),
        "seed": seed,
        "fit_s": round(fit_s, 1),
        "epochs": trainer.cur_epoch if hasattr(trainer, "cur_epoch") else None,
        "valid": score_phase(model, valid, dataset, rows["valid"], items),
        "test": score_phase(model, test, dataset, rows["test"], items),
    }


def table(results):
    by = {}
    for r in results:
        by.setdefault(r["model"], []).append(r)
    cell = lambda xs: (
        f"{statistics.mean(xs):.4f} ± {statistics.stdev(xs):.4f}" if len(xs) > 1 else f"{xs[0]:.4f}"
    )
    print("| model | masking | Hit@1 | Hit@10 | Hit@50 | NDCG@10 | fit s | seeds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for model, rs in by.items():
        for masking in ("positives", "rated"):
            m = lambda k: cell([r["test"][masking][k] for r in rs])
            fit = statistics.mean(r["fit_s"] for r in rs)
            print(f"| {model} | {masking} | {m('hit1')} | {m('hit10')} | {m('hit50')} | {m('ndcg10')} | {fit:.1f} | {len(rs)} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", help="the folder `recagent data export NAME --recbole DIR` wrote")
    p.add_argument("name", help="the catalog's name, e.g. ml-100k")
    p.add_argument("--models", default="Pop,ItemKNN,BPR,EASE,SASRec")
    p.add_argument("--seeds", type=int, default=1, help="seeds 2020.. for the trained models")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--batch-size",
        type=int,
        help="training batch size (RecBole's default 2048). RecBole's Pop counts an item once per batch, "
        "so `--models Pop --batch-size 1` gives the popularity of every positive",
    )
    p.add_argument("--out", default="recbole-results.jsonl")
    a = p.parse_args()
    if not os.path.exists(os.path.join(a.data_dir, f"{a.name}.eval.tsv")):
        sys.exit(f"{a.data_dir} has no {a.name}.eval.tsv: run `recagent data export {a.name} --recbole {a.data_dir}` first")
    results = []
    for model in a.models.split(","):
        seeds = 1 if model in ONE_PASS else a.seeds
        for seed in range(2020, 2020 + seeds):
            r = run(model, os.path.abspath(a.data_dir), a.name, seed, a.threads, a.batch_size)
            print(json.dumps(r), flush=True)
            with open(a.out, "a") as f:
                f.write(json.dumps(r) + "\n")
            results.append(r)
    table(results)


if __name__ == "__main__":
    main()
