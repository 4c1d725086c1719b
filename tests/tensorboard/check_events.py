#!/usr/bin/env python3
"""Checks a run's TensorBoard events against its own logs (tests/tensorboard_test.sh).

Every record's CRCs hold (read_tfevents.py); each file starts with the file-version event; every
step of train_log.tsv is in the events with its loss terms, lr and gradient norm (TSV step s is
event step s + 1, the steps finished) and a positive images/s; every row of eval_log.tsv is there
as eval/<protocol>/R-1, mAP and mINP; a resumed run's file starts with a session start at the
step after its checkpoint; and a flipped byte is refused as a CRC mismatch.

  check_events.py RUN_DIR RESUMED_AT
"""
import csv
import glob
import os
import sys

import read_tfevents

run_dir, resumed_at = sys.argv[1], int(sys.argv[2])
failures = []


def close(a, b):
    return abs(a - b) <= 2e-5 * max(abs(b), 1.0)


files = sorted(glob.glob(os.path.join(run_dir, "tensorboard", "events.out.tfevents.*")))
if len(files) != 2:
    failures.append(f"expected 2 event files (the run and its resume), found {files}")
steps, session_starts = {}, []
for path in files:
    events = read_tfevents.read(path)
    if not events or events[0].get("file_version") != "brain.Event:2":
        failures.append(f"{path}: does not start with the file-version event")
    for e in events:
        if "session_log" in e:
            session_starts.append((os.path.basename(path), e["step"], e["session_log"]["status"]))
        if "scalars" in e:
            steps.setdefault(e["step"], {}).update(e["scalars"])
if [s[1:] for s in session_starts] != [(resumed_at + 1, 1)]:
    failures.append(f"expected one session start (status 1) at step {resumed_at + 1}, got {session_starts}")

with open(os.path.join(run_dir, "train_log.tsv")) as f:
    rows = list(csv.DictReader(f, delimiter="\t"))
columns = {"loss/total": "total", "loss/id": "id", "loss/triplet": "triplet", "loss/centre": "centre",
           "loss/modality_id": "modality_id", "train/lr": "lr", "train/grad_norm": "grad_norm"}
for row in rows:
    step = int(row["step"]) + 1
    got = steps.get(step)
    if got is None:
        failures.append(f"step {step}: not in the events")
        continue
    for tag, column in columns.items():
        if tag not in got or not close(got[tag], float(row[column])):
            failures.append(f"step {step} {tag}: events {got.get(tag)}, train_log.tsv {row[column]}")
    if not got.get("train/images_per_second", 0) > 0:
        failures.append(f"step {step}: images/s {got.get('train/images_per_second')}")
step_events = [s for s, v in steps.items() if "loss/total" in v]
if sorted(step_events) != [int(r["step"]) + 1 for r in rows]:
    failures.append(f"event steps {sorted(step_events)} are not train_log.tsv's")

with open(os.path.join(run_dir, "eval_log.tsv")) as f:
    evaluations = list(csv.DictReader(f, delimiter="\t"))
if not evaluations:
    failures.append("eval_log.tsv is empty")
for row in evaluations:
    got = steps.get(int(row["step"]), {})
    for name, column in (("R-1", "rank1"), ("mAP", "map"), ("mINP", "minp")):
        tag = f"eval/{row['protocol']}/{name}"
        if tag not in got or not close(got[tag], float(row[column])):
            failures.append(f"step {row['step']} {tag}: events {got.get(tag)}, eval_log.tsv {row[column]}")

# The reader's CRC checks are real: one flipped byte in a value is refused.
with open(files[0], "rb") as f:
    blob = bytearray(f.read())
blob[len(blob) - 10] ^= 0x01
try:
    list(read_tfevents.records(bytes(blob)))
    failures.append("a flipped byte passed the CRC check")
except read_tfevents.CorruptRecord as e:
    if "CRC mismatch" not in str(e):
        failures.append(f"a flipped byte: {e}")

for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print(f"tensorboard: {len(files)} files, {len(step_events)} steps and {len(evaluations)} evaluation rows "
      f"as in the run's logs, session start at step {resumed_at + 1}, CRCs checked")
