#!/usr/bin/env python3
"""TensorBoard's own loader reads a run's event files as the run's logs say (tests/tensorboard_test.sh).

TensorBoard's EventAccumulator (the `tensorboard` package from PyPI, what `tensorboard --logdir`
runs) loads RUN_DIR/tensorboard, every scalar kept.  Every scalar tag it finds must be one we
know, with one value per step equal to train_log.tsv's (TSV step s is event step s + 1):
loss/<term> is the term's column, train/lr, train/epoch, train/grad_norm, train/step_seconds and
train/data_seconds theirs, train/images_per_second the global batch over `seconds`;
eval/<protocol>/{R-1,mAP,mINP} is eval_log.tsv's row at that step.

  check_with_tensorboard.py RUN_DIR GLOBAL_BATCH_IMAGES
"""
import csv
import os
import sys

from tensorboard.backend.event_processing import event_accumulator

run_dir, batch_images = sys.argv[1], int(sys.argv[2])
accumulator = event_accumulator.EventAccumulator(os.path.join(run_dir, "tensorboard"),
                                                 size_guidance={event_accumulator.SCALARS: 0})
accumulator.Reload()
tags = accumulator.Tags()["scalars"]
with open(os.path.join(run_dir, "train_log.tsv")) as f:
    rows = {int(r["step"]) + 1: r for r in csv.DictReader(f, delimiter="\t")}
with open(os.path.join(run_dir, "eval_log.tsv")) as f:
    evaluations = {(int(r["step"]), r["protocol"]): r for r in csv.DictReader(f, delimiter="\t")}

train_columns = {"train/lr": "lr", "train/epoch": "epoch", "train/grad_norm": "grad_norm",
                 "train/step_seconds": "seconds", "train/data_seconds": "data_seconds"}
eval_columns = {"R-1": "rank1", "mAP": "map", "mINP": "minp"}
failures, values = [], 0


def close(a, b):
    return abs(a - b) <= 2e-5 * max(abs(b), 1.0)


def expected(tag, step):
    """The logs' value of TAG at STEP, or a string saying why there is none."""
    if tag.startswith("eval/"):
        protocol, _, metric = tag[len("eval/"):].rpartition("/")
        row = evaluations.get((step, protocol))
        if row is None or metric not in eval_columns:
            return f"no row of eval_log.tsv for {protocol!r} at step {step}"
        return float(row[eval_columns[metric]])
    row = rows.get(step)
    if row is None:
        return f"no row of train_log.tsv for step {step}"
    if tag == "train/images_per_second":
        return batch_images / float(row["seconds"])
    column = tag[len("loss/"):] if tag.startswith("loss/") else train_columns.get(tag)
    if column not in row:
        return "a tag train_log.tsv has no column for"
    return float(row[column])


seen_steps = set()
for tag in tags:
    events = accumulator.Scalars(tag)
    steps = [e.step for e in events]
    if len(set(steps)) != len(steps):
        failures.append(f"{tag}: a step written twice: {steps}")
    for e in events:
        want = expected(tag, e.step)
        values += 1
        if isinstance(want, str):
            failures.append(f"{tag} at step {e.step}: {want}")
        elif not close(e.value, want):
            failures.append(f"{tag} at step {e.step}: TensorBoard reads {e.value}, the logs say {want}")
        if tag == "loss/total":
            seen_steps.add(e.step)
if seen_steps != set(rows):
    failures.append(f"loss/total at steps {sorted(seen_steps)}, train_log.tsv has {sorted(rows)}")
terms = [c for c in next(iter(rows.values())) if f"loss/{c}" in tags]
if "total" not in terms or len(terms) < 4:
    failures.append(f"loss terms TensorBoard shows: {terms}")
missing_evals = {f"eval/{p}/{m}" for (_, p) in evaluations for m in eval_columns} - set(tags)
if missing_evals:
    failures.append(f"evaluations TensorBoard does not show: {sorted(missing_evals)}")

for f in failures[:20]:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print(f"TensorBoard's loader: {len(tags)} scalar tags, {values} values, all equal to train_log.tsv "
      f"and eval_log.tsv ({len(rows)} steps, {len(evaluations)} evaluation rows)")
