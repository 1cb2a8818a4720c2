"""``harness circuit train-toy``: train a toy model and derive its ground-truth circuits, as committed.

The ground truth of each problem is found on ``HELD_OUT`` prompts drawn from their own seed
(``held_out_seed``), never the prompts the methods see (``method_seed``), so the methods are not
scored on the data that defined the answer (``shared/research/CIRCUITS.md`` §3b).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from harness.circuits.ablation import THRESHOLD, Circuit, Replacement, find_circuit, head_name
from harness.circuits.model import AttentionOnlyTransformer, save
from harness.circuits.subject import ToySubject
from harness.circuits.training import ToySpec, train
from harness.models.dense import file_sha256
from harness.suites.circuit.cards import toy_files
from harness.suites.circuit.ground_truth import CircuitList, GroundTruthFile, write_ground_truth
from harness.suites.circuit.spec import held_out_seed

HELD_OUT = 500
"""Held-out prompts per ground truth (CIRCUITS.md §3b used 500)."""
REPLACEMENTS: tuple[Replacement, ...] = ("mean", "contrast")


def command(spec: ToySpec, seed: int) -> str:
    return f"harness circuit train-toy {spec.name} --seed {seed}"


def derive_ground_truth(
    spec: ToySpec, seed: int, model: AttentionOnlyTransformer, weights_sha256: str
) -> tuple[GroundTruthFile, dict[str, dict[str, Circuit]]]:
    """Every problem's circuit under both replacements, on held-out prompts."""
    subject = ToySubject(model)
    circuits: dict[str, dict[str, CircuitList]] = {}
    found: dict[str, dict[str, Circuit]] = {}
    for problem in spec.problems:
        prompts = problem.sample(HELD_OUT, torch.Generator().manual_seed(held_out_seed(seed)))
        circuits[problem.name], found[problem.name] = {}, {}
        for kind in REPLACEMENTS:
            circuit = find_circuit(subject, problem.metric, prompts, kind)
            found[problem.name][kind] = circuit
            circuits[problem.name][kind] = CircuitList(
                heads=[head_name(h, spec.config.n_heads) for h in circuit.heads],
                source=f"derived here by ablation: {command(spec, seed)} (harness/suites/circuit/build.py)",
                rule={
                    "replacement": kind,
                    "threshold": THRESHOLD,
                    "faithfulness": circuit.faithfulness,
                    "metric_all_heads": circuit.metric_all,
                    "metric_no_heads": circuit.metric_none,
                    "search": circuit.search,
                    "held_out_prompts": HELD_OUT,
                    "prompt_seed": held_out_seed(seed),
                },
            )
    ground_truth = GroundTruthFile(
        subject=f"{spec.name}-seed{seed}",
        n_layers=spec.config.n_layers,
        n_heads=spec.config.n_heads,
        subject_sha256=weights_sha256,
        circuits=circuits,
    )
    return ground_truth, found


@dataclass(frozen=True)
class Built:
    files: dict[str, str]
    seconds: float
    final_loss: float
    circuits: dict[str, dict[str, Circuit]]


def build_toy(
    spec: ToySpec, seed: int, folder: Path, progress: Callable[[int, float], None] | None = None
) -> Built:
    """Train ``spec`` from ``seed``, write its three files into ``folder``; returns their sha256s."""
    trained = train(spec, seed, progress)
    weights_name, config_name, truth_name = toy_files(spec.name, seed)
    weights, config = save(trained.model, folder, f"{spec.name}-seed{seed}")
    ground_truth, found = derive_ground_truth(spec, seed, trained.model, file_sha256(weights))
    write_ground_truth(folder / truth_name, ground_truth)
    files = {name: file_sha256(folder / name) for name in (weights_name, config_name, truth_name)}
    return Built(files, trained.seconds, trained.final_loss, found)
