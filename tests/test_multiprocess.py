"""Multi-host data parallelism, simulated by two processes with two CPU devices each."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from zoo.synthetic.soccernet_v2 import write_soccernet_v2

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_train_one_model_and_agree(tmp_path):
    root = tmp_path / "soccernet"
    write_soccernet_v2(root, games_per_split={"train": 2, "test": 1}, half_seconds=120, events_per_half=12)
    port = _free_port()
    workdir = tmp_path / "run"
    processes = []
    for index in range(2):
        env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES="2",
                   JAX_COORDINATOR_ADDRESS=f"localhost:{port}", JAX_NUM_PROCESSES="2",
                   JAX_PROCESS_ID=str(index))
        env.pop("XLA_FLAGS", None)
        processes.append(subprocess.Popen(
            [sys.executable, os.path.join(REPO, "train.py"),
             f"--config={os.path.join(REPO, 'configs/action_spotting/netvlad_pp.py')}:tiny",
             f"--workdir={workdir}", f"--config.data.manual_dir={root}",
             f"--config.data.data_dir={tmp_path / 'tfds'}"],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
    assert "Process 1 of 2, 2 local devices of 4" in outputs[1][1]
    # Both processes computed the same evaluation of the same replicated model.
    finals = [out[out.index("Final evaluation"):] for out, _ in outputs]
    assert finals[0] == finals[1] and "a_mAP_loose" in finals[0]
    # Each process saved its own grain iterator state beside the shared train state.
    dataset = workdir / "checkpoints" / "12" / "dataset"
    assert {"process_0-of-2.json", "process_1-of-2.json"} <= set(os.listdir(dataset))
    # Only process 0 writes logs and submission files.
    assert (workdir / "metrics.jsonl").read_text().count('"split": "train"') == 3
