"""The toy track's committed inputs: checkpoints and ground-truth files, pinned by sha256 like data cards.

Each toy model (``induction-2l4h``, ``mix4-3l8h``) ships three seeds under ``harness/suites/circuit/toys/``:
``<toy>-seed<S>.safetensors`` (float32 weights), ``<toy>-seed<S>.config.json`` (shape) and
``<toy>-seed<S>.ground-truth.json`` (every task's circuits). ``harness circuit train-toy <toy> --seed S``
rebuilds all three (``build.py``); the sha256s below are those of the committed files, so a load
reports ``verified`` only on exactly these bytes.
"""

from __future__ import annotations

from pathlib import Path

from harness.data.cards import DatasetCard, SplitCard
from harness.suites.circuit.spec import SEEDS, TaskSpec, both

TOY_FOLDER = Path(__file__).parent / "toys"


def toy_files(toy: str, seed: int) -> tuple[str, str, str]:
    """Weights, config and ground-truth file names of one toy checkpoint."""
    stem = f"{toy}-seed{seed}"
    return f"{stem}.safetensors", f"{stem}.config.json", f"{stem}.ground-truth.json"


CHECKSUMS: dict[str, str] = {
    "induction-2l4h-seed0.safetensors": "9951030f601738c8b7e12ff89dd91488fc28e0a48626ffa6166f72edca46cf61",
    "induction-2l4h-seed0.config.json": "7ca3c6517eaf8db2c1c32f20a9178f29fe9f99e824bb8dbc18734c7f44bd50a8",
    "induction-2l4h-seed0.ground-truth.json": "c7e177737ab7c3f72a300921c9d8bc2e63214b3e6e7c13f26c58b3c6ebb6d0a9",  # noqa: E501
    "induction-2l4h-seed1.safetensors": "2254751a6e650ee6cbc3c800a61a324911664433fb9f55566fa16bfdbedc746c",
    "induction-2l4h-seed1.config.json": "7ca3c6517eaf8db2c1c32f20a9178f29fe9f99e824bb8dbc18734c7f44bd50a8",
    "induction-2l4h-seed1.ground-truth.json": "f0d924c6e39102e2626b49888e20595c679ae3e5561dcf2e78333bc2c83e7bcc",  # noqa: E501
    "induction-2l4h-seed2.safetensors": "4e8dd644e703c0b0cd0ec61f2aa9759f2ecd1266b095fc758e88afa3dcfee3b6",
    "induction-2l4h-seed2.config.json": "7ca3c6517eaf8db2c1c32f20a9178f29fe9f99e824bb8dbc18734c7f44bd50a8",
    "induction-2l4h-seed2.ground-truth.json": "d8f509c42a714c1569cf80fa0913f452568fbfe3bf8d975059675aa5fda72d59",  # noqa: E501
    "mix4-3l8h-seed0.safetensors": "f4f860296063a81112eb733fa1787b880fd6f70bf8c1c9b4ac1bde91d0818bfa",
    "mix4-3l8h-seed0.config.json": "b4267e56128f858d5564b3d96ee7d6d986701029acb76f50f1fd3f159d1118d5",
    "mix4-3l8h-seed0.ground-truth.json": "0157f4bff1936a09b6a3044d4ba6dc11646336ffaff0e81e0dc8f2dbf3861827",
    "mix4-3l8h-seed1.safetensors": "5a657006da5f62369d27d743b6b871716f8cae44a8d244aea063d93a6966396f",
    "mix4-3l8h-seed1.config.json": "b4267e56128f858d5564b3d96ee7d6d986701029acb76f50f1fd3f159d1118d5",
    "mix4-3l8h-seed1.ground-truth.json": "03c96b6a5475c2fe2ae6d3e77336affd16572c7096de9114ba3e3cb3f11ab5c4",
    "mix4-3l8h-seed2.safetensors": "0b10c175843740fe8670d54e9b82f1f2e2e3ebd72632d71abdd08ffc8bea65fa",
    "mix4-3l8h-seed2.config.json": "b4267e56128f858d5564b3d96ee7d6d986701029acb76f50f1fd3f159d1118d5",
    "mix4-3l8h-seed2.ground-truth.json": "a9119aa49b2bb658a399b860d6007595de5e5c58f46e30793f9d8637e5a1af8c",
}
"""sha256 of every committed toy file (``harness circuit train-toy`` prints them)."""

TOY_HEADS = {"induction-2l4h": 8, "mix4-3l8h": 24}


def toy_card(toy: str) -> DatasetCard:
    members = {name: CHECKSUMS[name] for seed in SEEDS for name in toy_files(toy, seed)}
    return DatasetCard(
        id=f"circuit/{toy}",
        name=toy,
        locations=(),
        marker="",
        bundled=True,
        licence="Apache-2.0 (trained by this project)",
        url="built here: harness circuit train-toy " + toy,
        splits={"test": SplitCard(members=members, counts={"seeds": len(SEEDS), "heads": TOY_HEADS[toy]})},
    )


TOY_CARDS = {toy: toy_card(toy) for toy in TOY_HEADS}


TOY_TASKS: tuple[TaskSpec, ...] = (
    TaskSpec("toy-induction", "induction-2l4h", "induction", "mean"),
    *both("toy-ioi", "mix4-3l8h", "ioi", "mean", "contrast"),
    *both("toy-greater-than", "mix4-3l8h", "greater-than", "mean", "contrast"),
    *both("toy-docstring", "mix4-3l8h", "docstring", "mean", "contrast"),
)
"""``circuit/toy-<problem>`` is scored against the mean-ablation circuit, ``...-contrast`` against the
circuit under patching from the negative prompts (the two can differ: CIRCUITS.md §3b).

The induction model has no ``-contrast`` task: patched from the negatives, its circuit is 7 or 8 of
its 8 heads (all 8 on seed 1), where ROC AUC is undefined or decided by one head.

The four-task model also trains on induction, but in 5,000 steps its induction did not form (seed 0:
log p of the answer -3.57 with every head, -3.69 with none, chance being -3.69), so its ground-truth
file records that circuit with those two numbers and no task scores against it."""
