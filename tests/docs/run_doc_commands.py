#!/usr/bin/env python3
"""Runs every command the README and docs/*.md show (tests/docs/doc_commands.py finds them).

  run_doc_commands.py SOURCE_DIR BUILD_DIR PYTHON [--list] [--only REGEX] [--keep]

Each command runs with bash in a scratch checkout: links to the source tree's folders and to
BUILD_DIR as build/, `rfm` and `tensorboard` on PATH, and the files the docs assume made
first (the demo's synthetic dataset and a short run of it, small RegDB and LLCM datasets at
/data/..., torchvision's ResNet-50 file layout, a manifest, feature folders).  Paths under
/tmp, /data, /scratch and /srv are moved into the scratch folder.  A command that needs what
this machine lacks (a GPU, a Slurm cluster, the network, minutes) runs in reduced form:
training takes one step of a small batch on the CPU, a benchmark runs its first case briefly,
`--np 4` becomes `--np 2`; or it is skipped with the reason, by a rule below.  A command no
rule names runs as written (after the path moves and the training reduction), so a new
command in the docs that fails breaks this test.
"""
import argparse
import itertools
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_commands  # noqa: E402

SLURM = "needs a Slurm cluster: the test `slurm` submits these scripts to a one-node Slurm it starts"
SUITE = "a part of the suite this test belongs to (scripts/test runs it)"
BUILDS = "rebuilds or reconfigures the build this test runs from"

# (pattern, action, argument): the first rule whose pattern matches a command decides.
#   skip: argument is the reason
#   expect: argument is (exit code, regular expression the output must match)
#   gpu: runs only where a GPU is visible, else skipped
#   bench: a Google Benchmark program, its first case briefly
#   server: started, asked over HTTP, stopped
#   status: asked while a 2-rank job runs
#   ctest, gtest: a part of the suite this test is in; here only what it selects is listed
RULES = [
    (r"^bash scripts/setup", "skip", "installs Debian packages and PyPI wheels (root, network); scripts/test runs it first"),
    (r"^bash scripts/test-sanitizers", "skip", "the sanitizer build, the second half of scripts/test"),
    (r"^bash scripts/test\b", "skip", "the command that runs this test"),
    (r"^bash scripts/build", "skip", BUILDS),
    (r"^cmake -S \. -B build-asan", "skip", "the sanitizer build, the second half of scripts/test"),
    (r"^cmake -S \. -B build-bench", "skip", "the test `bench_only_configuration` configures and builds it"),
    (r"\(cd build-asan &&", "skip", "needs the sanitizer build, which scripts/test makes after this suite"),
    (r"^\(cd build && ctest", "ctest", None),
    (r"build/tests/rfm_\w+_tests", "gtest", None),
    (r"^module load", "skip", "a site's module system"),
    (r"curl .*https://", "skip", "downloads from the network (the test writes a file of the same layout)"),
    (r"^python3 -m venv ~/torch", "skip", "downloads PyTorch (4.7 GB)"),
    (r"^(sbatch|srun|scancel|squeue|slurm/)", "skip", SLURM),
    (r"^apptainer", "skip", "needs Apptainer and the network (the image's recipe is deploy/apptainer/rfm.def)"),
    (r"^bench/gpu/fetch_deps", "skip", "downloads Debian packages (network)"),
    (r"^bench/gpu/run --out", "skip", "runs on a GPU machine"),
    (r"bench/gpu/run --rehearse", "skip", "a full build of the tree (7 minutes on 2 cores)"),
    (r"^bash bench/gpu/rehearse_in_clean_root", "skip", "debootstrap and a full build in a fresh root (root, network, 10 minutes)"),
    (r"^scripts/fuzz", "skip", "the clang fuzz build (minutes); every build's tests replay the corpus (fuzz_replay_*)"),
    (r"^bench/run_all", "skip", "minutes of repeated benchmarks; each program it runs is run here once, briefly"),
    (r"RFM_BENCH_DEVICE=cuda", "gpu", None),
    (r"^prometheus ", "skip", "a server left running; the test `metrics_scrape` runs Prometheus on a job's targets file"),
    (r"^(\S+=\S+ )*(mpirun -np 2 )?build/bench/rfm_\w+_bench", "bench", None),
    (r"tensorboard --logdir", "server", None),
    (r"rfm status ", "status", None),
    (r"rfm check-config --set ltg\.probability=1\.5", "expect", (2, r"ltg\.probability = 1\.5: allowed range \[0, 1\]")),
    (r"rfm help evaluate", "expect", (0, r"usage: rfm evaluate")),
    (r"bash scripts/demo", "demo", None),
    (r"bash scripts/table2", "table2", None),
]

# One step of a small batch on the CPU; `cuda` becomes `cpu` (the last --set wins).
# None resumes a checkpoint another run of another shape wrote (checkpoint.resume=false, or
# a folder of its own where the command restarts).
TRAIN_REDUCTION = ("--set train.max_steps=1 --set train.device=cpu --set train.threads=1 "
                   "--set data.loader_threads=1 --set data.ids_per_batch=2 --set data.images_per_modality=1 "
                   "--set metrics.linger_s=0 --set metrics.base_port=0")
RUN_FOLDERS = itertools.count(1)
# The paper's configurations at a small input and model (the demo's is small already), with
# the classes of the small synthetic datasets.
PAPER_CONFIG_REDUCTION = ("--set data.height=64 --set data.width=32 --set model.num_parts=2 --set model.num_classes=0 "
                          "--set train.device=cpu --set evaluation.trials=1")
PAPER_CONFIGS = ("configs/sysu_mm01.pbtxt", "configs/regdb.pbtxt", "configs/llcm.pbtxt")


class Sandbox:
    def __init__(self, source, build, python, keep):
        self.python = python
        self.dir = tempfile.mkdtemp(prefix="rfm-docs-")
        self.keep = keep
        for name in ("configs", "python", "slurm", "deploy", "scripts", "bench", "tests", "proto"):
            os.symlink(os.path.join(source, name), os.path.join(self.dir, name))
        os.symlink(build, os.path.join(self.dir, "build"))
        bin_dir = os.path.join(self.dir, "bin")
        os.makedirs(bin_dir)
        os.symlink(os.path.join(build, "launcher", "rfm"), os.path.join(bin_dir, "rfm"))
        tensorboard = os.path.join(os.path.dirname(python), "tensorboard")
        if os.path.exists(tensorboard):
            os.symlink(tensorboard, os.path.join(bin_dir, "tensorboard"))
        self.env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"], RFM_PYTHON=python,
                        OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                        OMPI_MCA_rmaps_base_oversubscribe="1", RFM_SKIP_SETUP="1")
        self.env.pop("OUT", None)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def sh(self, command, timeout=600):
        """(exit code, stdout and stderr) of COMMAND run by bash in the scratch checkout."""
        p = subprocess.run(["bash", "-c", command], cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        return p.returncode, p.stdout

    def must(self, command, what):
        rc, out = self.sh(command)
        if rc != 0:
            raise RuntimeError(f"preparing {what}: `{command}` exited {rc}:\n{out[-2000:]}")
        return out

    def close(self):
        if self.keep:
            print(f"scratch checkout kept: {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def prepare(box):
    """The files the docs' examples assume exist."""
    rfm = "build/launcher/rfm"
    small = ("--set synthetic.train_identities=8 --set synthetic.test_identities=4 "
             "--set synthetic.images_per_camera=2 --set synthetic.height=64 --set synthetic.width=32")
    box.must(f"{rfm} synthesize --config configs/demo_cpu.pbtxt && {rfm} pack --config configs/demo_cpu.pbtxt",
             "the demo's dataset")
    os.makedirs(box.path("data"))
    os.symlink(box.path("datasets", "synthetic-sysu-mm01"), box.path("data", "SYSU-MM01"))
    box.must(f"{rfm} synthesize --set synthetic.layout=REGDB --set synthetic.output=data/RegDB {small}", "RegDB")
    box.must(f"{rfm} synthesize --config configs/llcm.pbtxt --set synthetic.layout=LLCM --set data.root=data/LLCM "
             f"{small}", "LLCM")
    # torchvision's ResNet-50 file, as torchvision publishes it (state dict, torch.save's zip).
    os.makedirs(box.path("weights"))
    box.must(f"{shlex.quote(box.python)} -c \"import torch, torchvision; "
             f"torch.save(torchvision.models.resnet50().state_dict(), 'weights/resnet50-0676ba61.pth')\"",
             "torchvision's ResNet-50 file")
    one_epoch = ("--set train.steps_per_epoch=1 --set train.eval_every_epochs=1 --set train.max_steps=1 "
                 "--set train.device=cpu --set train.threads=1 --set data.ids_per_batch=2 "
                 "--set data.images_per_modality=1 --set metrics.enabled=false --set evaluation.trials=1")
    box.must(f"{rfm} train --config configs/demo_cpu.pbtxt {one_epoch}", "a short demo run")
    for name in ("best.pt", "last.pt"):
        shutil.copy(box.path("runs", "demo-cpu", "checkpoints", name), box.path(name))
    box.must(f"{rfm} train --config configs/llcm.pbtxt --set data.root=data/LLCM {one_epoch} "
             f"{PAPER_CONFIG_REDUCTION} --set model.pretrained=", "a short LLCM run")
    box.must(f"{rfm} train --config configs/sysu_mm01.pbtxt --set data.root=data/SYSU-MM01 {one_epoch} "
             f"{PAPER_CONFIG_REDUCTION} --set model.pretrained=", "a short SYSU-MM01 run")
    shutil.copytree(box.path("runs", "rfm-sysu-mm01"), box.path("runs", "sysu"))
    for trial in (1, 2):
        box.must(f"{rfm} train --config configs/regdb.pbtxt --set data.root=data/RegDB --set data.regdb_trial={trial} "
                 f"{one_epoch} {PAPER_CONFIG_REDUCTION} --set model.pretrained= --set train.run_dir=runs/regdb-t{trial}",
                 f"a short RegDB run, trial {trial}")
        box.must(f"{rfm} evaluate --checkpoint runs/regdb-t{trial}/checkpoints/last.pt --config configs/regdb.pbtxt "
                 f"--set data.root=data/RegDB --set data.regdb_trial={trial} {PAPER_CONFIG_REDUCTION} "
                 f"--export-features feats/t{trial} --out feats/t{trial}-eval", f"RegDB trial {trial}'s features")
    # Another codebase's SYSU-MM01 features: .npy and `pid camid` labels, no paths.
    box.must(f"{rfm} evaluate --checkpoint last.pt --export-features tmp/ours --out tmp/ours-eval", "features")
    for name in ("agw", "agw-features"):
        os.makedirs(box.path("tmp", name))
        for f in os.listdir(box.path("tmp", "ours")):
            if f.endswith(".npy") or f.endswith("_labels.txt"):
                shutil.copy(box.path("tmp", "ours", f), box.path("tmp", name, f))
    # A manifest (path pid camid modality split), a run config, two PNG images, an MPI host file.
    lines = []
    sysu = box.path("datasets", "synthetic-sysu-mm01")
    both = sorted(set(os.listdir(os.path.join(sysu, "cam1"))) & set(os.listdir(os.path.join(sysu, "cam3"))))[:4]
    for cam, modality in (("cam1", "visible"), ("cam3", "infrared")):
        for pid in both:
            folder = os.path.join("datasets", "synthetic-sysu-mm01", cam, pid)
            for image in sorted(os.listdir(box.path(folder)))[:2]:
                lines.append(f"{folder}/{image}\t{int(pid)}\t{cam[3:]}\t{modality}\ttrain")
    with open(box.path("mine.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    shutil.copy(box.path("configs", "demo_cpu.pbtxt"), box.path("run.pbtxt"))
    box.must(f"{shlex.quote(box.python)} -c \"import torch, torchvision.io as io; "
             f"[io.write_png(torch.randint(0, 255, (3, 96, 48), dtype=torch.uint8), n) for n in ('a.png', 'b.png')]\"",
             "two PNG images")
    with open(box.path("hosts"), "w") as f:
        f.write("localhost slots=8\n")


def rewrite(box, command):
    """The command as it runs here: paths moved, training reduced."""
    c = command.replace("/opt/rfm-cluster/venv/bin/python3", shlex.quote(box.python))
    for root in ("/tmp/", "/data/", "/scratch/", "/srv/"):
        c = re.sub(r"(?<![\w.])" + re.escape(root), box.dir + root, c)
    c = re.sub(r"\$\(seq 1 10\)", "$(seq 1 2)", c)
    c = c.split(" #")[0].rstrip()
    # The rfm call's own arguments end at a shell operator (a loop's `; done`).
    call = re.search(r"rfm (train|launch|evaluate|embed|search|pack) ", c)
    if call:
        end, depth = call.end(), 0
        while end < len(c) and not (depth == 0 and c[end] in ";&|"):
            depth += {"(": 1, ")": -1}.get(c[end], 0)
            if depth < 0:
                break
            end += 1
        call_end = end
        args = c[call.start():call_end].rstrip()
        extra = ""
        paper = any(p in args for p in PAPER_CONFIGS)
        if call.group(1) in ("train", "launch"):
            args = re.sub(r"--np [3-9]\d*", "--np 2", args)
            if "--max-restarts" in args:
                # A restart resumes, so it needs a folder no other run wrote.
                extra = TRAIN_REDUCTION + f" --set train.run_dir=runs/docs-{next(RUN_FOLDERS)}"
            else:
                extra = TRAIN_REDUCTION + " --set checkpoint.resume=false"
            if paper and "model.pretrained=weights/" not in args:
                extra += " --set model.pretrained="
        if paper:
            extra += " " + PAPER_CONFIG_REDUCTION
            if "RANDOM_IDENTITIES" in args:  # its classes are the configuration's, not a dataset's
                extra = extra.replace(" --set model.num_classes=0", "")
        if "train.device=cuda" in args:
            extra += " --set train.device=cpu"
        c = c[:call.start()] + (args + " " + extra).rstrip() + " " + c[call_end:].lstrip()
    return c.rstrip()


def first_benchmark(box, command):
    """COMMAND with only its first benchmark case, once, briefly."""
    listing = re.sub(r"(build/bench/rfm_\w+_bench)", r"\1 --benchmark_list_tests=true", command, count=1)
    listing = listing.replace("mpirun -np 2 ", "")
    rc, out = box.sh(listing)
    names = [line for line in out.split("\n") if line and not line.startswith(("rfm", "warning"))]
    if rc != 0 or not names:
        return None, f"listing its cases exited {rc}: {out[-500:]}"
    return (command + f" --benchmark_filter='^{re.escape(names[0])}$' --benchmark_min_time=0.01"
            " --benchmark_repetitions=1"), None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_server(box, command):
    port = free_port()
    server = subprocess.Popen(["bash", "-c", command + f" --port {port} --host 127.0.0.1"],
                              cwd=box.dir, env=box.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=5) as r:
                    body = r.read().decode()
                if "loss/total" in body:
                    return 0, f"answered on port {port} with the runs' scalar tags"
            except OSError:
                pass
            if server.poll() is not None:
                return server.returncode or 1, server.stdout.read()[-1000:]
            time.sleep(1)
        return 1, "no answer with the runs' loss/total within 90 s"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def run_status(box, command):
    """`rfm status` while a 2-rank job of the demo runs."""
    name = f"status-job-{next(RUN_FOLDERS)}"
    run_dir = box.path("runs", name)
    job = subprocess.Popen(["bash", "-c", "build/launcher/rfm launch --np 2 --config configs/demo_cpu.pbtxt "
                            f"--set train.run_dir=runs/{name} --set train.max_steps=400 --set train.device=cpu "
                            "--set train.threads=1 --set data.ids_per_batch=2 --set data.images_per_modality=1 "
                            "--set metrics.base_port=0 --set train.eval_every_epochs=0"],
                           cwd=box.dir, env=box.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    try:
        address_file = os.path.join(run_dir, "supervisor.address")
        deadline = time.monotonic() + 120
        while not os.path.exists(address_file) or not open(address_file).read().strip():
            if job.poll() is not None or time.monotonic() > deadline:
                return 1, "the job for `rfm status` did not start: " + job.stdout.read()[-1000:]
            time.sleep(0.5)
        address = open(address_file).read().strip()
        c = command.replace("runs/demo-cpu", f"runs/{name}").replace("runs/rfm-sysu-mm01", f"runs/{name}")
        c = re.sub(r"--address \S+", f"--address {address}", c)
        for _ in range(60):
            rc, out = box.sh(c)
            if rc == 0 and re.search(r"^1\s", out, re.M):
                return rc, out
            time.sleep(1)
        return rc, out
    finally:
        try:
            os.killpg(job.pid, 15)
            job.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(job.pid, 9)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("build")
    parser.add_argument("python")
    parser.add_argument("--list", action="store_true", help="print each command and its rule, run nothing")
    parser.add_argument("--only", help="run only the commands matching this regular expression")
    parser.add_argument("--keep", action="store_true", help="keep the scratch checkout")
    args = parser.parse_args()
    source, build = os.path.realpath(args.source), os.path.realpath(args.build)

    planned = []
    for rel, line, command in doc_commands.documented_commands(source):
        if args.only and not re.search(args.only, command):
            continue
        rule = next(((kind, arg) for pattern, kind, arg in RULES if re.search(pattern, command)), ("run", None))
        planned.append((rel, line, command, rule))
    if args.list:
        for rel, line, command, (kind, arg) in planned:
            print(f"{rel}:{line}: [{kind}{': ' + arg if kind == 'skip' else ''}] {command}")
        return 0

    box = Sandbox(source, build, args.python, args.keep)
    failures, ran, skipped = [], 0, []
    gpu = shutil.which("nvidia-smi") is not None and subprocess.run(
        ["nvidia-smi", "-L"], capture_output=True).returncode == 0
    try:
        started = time.monotonic()
        prepare(box)
        print(f"prepared the scratch checkout in {time.monotonic() - started:.0f} s: {box.dir}", flush=True)
        done = {}
        for rel, line, command, (kind, arg) in planned:
            where = f"{rel}:{line}"
            key = re.sub(r'^(SEEDS|ROWS)="[^"]*" ', "", command.split(" #")[0]).strip()
            if key in done:
                print(f"same  {where}: {command[:110]}  (as {done[key]})", flush=True)
                continue
            done[key] = where
            if kind == "skip" or (kind == "gpu" and not gpu):
                skipped.append((where, command, arg if kind == "skip" else "needs a GPU (none visible)"))
                continue
            want_rc, want_output = (arg if kind == "expect" else (0, None))
            c = rewrite(box, command)
            t0 = time.monotonic()
            if kind == "bench":
                c, why = first_benchmark(box, c)
                rc, out = (1, why) if c is None else box.sh(c)
            elif kind == "server":
                rc, out = run_server(box, c)
            elif kind == "status":
                rc, out = run_status(box, c)
            elif kind == "gtest":
                # The suite runs these cases; here the program must select some.
                rc, out = box.sh(c + " --gtest_list_tests")
                if rc == 0 and not re.search(r"^  \S", out, re.M):
                    rc, out = 1, "selects no test:\n" + out
            elif kind == "ctest":
                rc, out = box.sh(c.replace("ctest", "ctest -N", 1))
                if rc == 0 and not re.search(r"Total Tests: [1-9]", out):
                    rc, out = 1, "selects no test:\n" + out
            elif kind == "demo":
                rc, out = box.sh(c + " --set train.epochs=1 --set train.steps_per_epoch=2"
                                    " --set train.eval_every_epochs=1 --set evaluation.trials=1")
            elif kind == "table2":
                # One seed, and one row unless the command picks rows.
                c = re.sub(r'^SEEDS="[^"]*" ', "", c)
                rows = "" if c.startswith("ROWS=") else "ROWS=5 "
                rc, out = box.sh("SEEDS=1 " + rows + c + " --set train.epochs=1 --set train.steps_per_epoch=1"
                                    " --set train.eval_every_epochs=0 --set evaluation.trials=1")
            else:
                rc, out = box.sh(c)
            seconds = time.monotonic() - t0
            ran += 1
            ok = rc == want_rc and (want_output is None or re.search(want_output, out, re.M))
            print(f"{'ok  ' if ok else 'FAIL'} {seconds:5.1f} s  {where}: {command[:110]}", flush=True)
            if not ok:
                failures.append((where, command, c, rc, want_rc, out))
    finally:
        box.close()
    for where, command, c, rc, want_rc, out in failures:
        print(f"\nFAIL {where}: exit {rc} (want {want_rc})\n  as documented: {command}\n  as run: {c}\n"
              + "\n".join("  | " + l for l in out.strip().split("\n")[-15:]))
    print(f"\nskipped ({len(skipped)}):")
    for where, command, why in skipped:
        print(f"  {where}: {command[:80]}  -- {why}")
    print(f"\ndocumented commands: {ran} ran, {len(failures)} failed, {len(skipped)} skipped")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
