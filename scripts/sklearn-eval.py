#!/usr/bin/python3
"""Cross-validate scikit-learn's decision tree and random forest on a feature
CSV from `tunnelscope extract --labels`, with the folds `tunnelscope eval`
uses (sorted capture files dealt round-robin into K folds), and print one
JSON object per model: the independent reference for tunnelscope's own
trees (TestAccuracyMatchesScikitLearn in cmd/tunnelscope compares them).

usage: scripts/sklearn-eval.py FEATURES.csv [--folds K] [--trees N] [--seed S] [--balanced]
"""
import argparse
import csv
import json
import sys

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.tree import DecisionTreeClassifier


def load(path):
    with open(path, newline="") as f:
        rows = csv.reader(f)
        head = next(rows)
        feat = [i for i, h in enumerate(head) if h.startswith("f_")]
        file_col, label_col = head.index("file"), head.index("label")
        X, y, groups = [], [], []
        for r in rows:
            if r[label_col] == "":
                continue
            X.append([float(r[i]) for i in feat])
            y.append(r[label_col])
            groups.append(r[file_col])
    # float32, as tunnelscope's vectors are: thresholds then fall between
    # the same representable values.
    return np.array(X, dtype=np.float32), np.array(y), groups


def folds_of(groups, k):
    fold = {g: i % k for i, g in enumerate(sorted(set(groups)))}
    return np.array([fold[g] for g in groups])


def cross_validate(make, X, y, folds, k):
    pred = np.empty(len(y), dtype=y.dtype)
    for f in range(k):
        test = folds == f
        if not test.any() or test.all():
            continue
        pred[test] = make().fit(X[~test], y[~test]).predict(X[test])
    return {"accuracy": accuracy_score(y, pred), "macro_f1": f1_score(y, pred, average="macro", zero_division=0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--balanced", action="store_true", help='class_weight="balanced"')
    a = ap.parse_args()
    X, y, groups = load(a.csv)
    folds = folds_of(groups, a.folds)
    cw = "balanced" if a.balanced else None
    out = {
        "decision_tree": cross_validate(
            lambda: DecisionTreeClassifier(random_state=a.seed, class_weight=cw), X, y, folds, a.folds),
        "random_forest": cross_validate(
            lambda: RandomForestClassifier(n_estimators=a.trees, max_features="sqrt", random_state=a.seed,
                                           class_weight=cw, n_jobs=-1),
            X, y, folds, a.folds),
        "rows": int(len(y)),
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
