"""Constructors for the builtin models, imported lazily by the registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.errors import HarnessError, SettingError
from harness.models.dense import SentenceTransformerEncoder, resolve
from harness.models.embedding_cache import EmbeddingCache
from harness.models.options import ModelOptions
from harness.models.protocols import Encoder, ModelInfo
from harness.models.sparse import Bm25s
from harness.types import JSONValue

if TYPE_CHECKING:
    from harness.kernels.attention import AttentionKernel
    from harness.kernels.pq import Trainer
    from harness.models.circuit_methods import CircuitMethod
    from harness.models.kernel_models import KernelAttention, KernelQuantizer
    from harness.models.learned_sparse import SparseEncoderRetriever
    from harness.models.lucene import LuceneBm25
    from harness.models.static import StaticEncoder


def bm25_flat(options: ModelOptions) -> LuceneBm25:
    from harness.models.lucene import LuceneBm25

    return LuceneBm25("flat", options.cache_dir, threads=options.threads)


def bm25_multifield(options: ModelOptions) -> LuceneBm25:
    from harness.models.lucene import LuceneBm25

    return LuceneBm25("multifield", options.cache_dir, threads=options.threads)


def bm25s(options: ModelOptions) -> Bm25s:
    return Bm25s()  # about a second on SciFact: its many progress bars would be noise


def minilm(options: ModelOptions) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(
        resolve("all-MiniLM-L6-v2"),
        device=options.device,
        batch_size=options.batch_size,
        max_seq_length=256,
        cache=EmbeddingCache(options.cache_dir / "embeddings"),
        show_progress=options.show_progress,
    )


def mpnet(options: ModelOptions) -> SentenceTransformerEncoder:
    """all-mpnet-base-v2 at its own max_seq_length (384), as MTEB evaluated it."""
    return SentenceTransformerEncoder(
        resolve("all-mpnet-base-v2", cache_root=options.cache_dir),
        device=options.device,
        batch_size=options.batch_size,
        cache=EmbeddingCache(options.cache_dir / "embeddings"),
        show_progress=options.show_progress,
    )


def m2v_minilm(options: ModelOptions) -> StaticEncoder:
    """model2vec distilled from all-MiniLM-L6-v2 by ``harness distill m2v-minilm``; never built here.

    Raises:
        HarnessError: model2vec (the [distill] extra) is not installed.
        SettingError: ``model``: not built under the cache folder yet.
    """
    from harness.models import distill
    from harness.models.static import StaticEncoder

    folder = distill.find(options.cache_dir)  # the [distill] extra is checked first, in one line
    if folder is None:
        raise SettingError(
            "model", "m2v-minilm is not built here: run `harness distill m2v-minilm` (about 2 minutes)"
        )
    return StaticEncoder(
        folder, distill.M2V_MINILM, distill.read_manifest(folder), show_progress=options.show_progress
    )


def splade_pp_ed(options: ModelOptions) -> SparseEncoderRetriever:
    """SPLADE++ ED from the hub cache (never downloaded by a run); one line saying how to get it if absent."""
    from harness.models import learned_sparse

    return learned_sparse.splade_pp_ed(options.device, options.batch_size, options.show_progress)


def _attention_hosts(options: ModelOptions) -> Callable[[AttentionKernel | None], Encoder]:
    """all-MiniLM-L6-v2 plain (built once, with the embedding cache) or with a kernel swapped in."""
    from harness.models.attention_swap import swap_attention

    plain: list[SentenceTransformerEncoder] = []

    def host(kernel: AttentionKernel | None) -> Encoder:
        if kernel is None:
            if not plain:
                plain.append(minilm(options))
            return plain[0]
        swapped = SentenceTransformerEncoder(
            resolve("all-MiniLM-L6-v2"),
            device=options.device,
            batch_size=options.batch_size,
            max_seq_length=256,
            show_progress=options.show_progress,
        )
        swap_attention(swapped, kernel, type(kernel).__name__)
        return swapped

    return host


def _kernel_info(name: str, parameters: dict[str, JSONValue]) -> ModelInfo:
    return ModelInfo(id=name, kind="kernel", source="builtin", parameters=parameters)


def hyper(options: ModelOptions) -> KernelAttention:
    """HyperAttention at the paper's settings; in MiniLM, blocks and samples of 16 from 16 tokens up."""
    from harness.kernels.hyper import HyperAttention
    from harness.models.kernel_models import KernelAttention

    kernel = HyperAttention()
    in_model = HyperAttention(block_size=16, sample_size=16, min_seq_len=16)
    parameters: dict[str, JSONValue] = {
        "kernel": dict(kernel.parameters()),
        "in_model": dict(in_model.parameters()),
        "device": options.device,
    }
    return KernelAttention(
        _kernel_info("hyper", parameters), kernel, in_model, options.device, _attention_hosts(options)
    )


def lowrank(options: ModelOptions) -> KernelAttention:
    """Keys and values pooled to rank 256 along the sequence; in MiniLM, rank 16 from 16 tokens up."""
    from harness.kernels.lowrank import LowRankAttention
    from harness.models.kernel_models import KernelAttention

    kernel = LowRankAttention()
    in_model = LowRankAttention(rank=16, min_seq_len=16)
    parameters: dict[str, JSONValue] = {
        "kernel": dict(kernel.parameters()),
        "in_model": dict(in_model.parameters()),
        "device": options.device,
    }
    return KernelAttention(
        _kernel_info("lowrank", parameters), kernel, in_model, options.device, _attention_hosts(options)
    )


def _quantizer(name: str, trainer: Trainer, options: ModelOptions) -> KernelQuantizer:
    from harness.models.kernel_models import KernelQuantizer

    parameters: dict[str, JSONValue] = {"trainer": dict(trainer.parameters()), "host": "all-MiniLM-L6-v2"}
    return KernelQuantizer(_kernel_info(name, parameters), trainer, lambda: minilm(options))


def pq(options: ModelOptions) -> KernelQuantizer:
    """Product quantisation, ours: k-means codebooks of 256 per sub-vector, one byte each."""
    from harness.kernels.pq import PQTrainer

    return _quantizer("pq", PQTrainer(), options)


def lowrank_pq(options: ModelOptions) -> KernelQuantizer:
    """LR²VQ-style: PCA to a rank chosen on the training data, then product quantisation."""
    from harness.kernels.lowrank_pq import LowRankPQTrainer

    return _quantizer("lowrank-pq", LowRankPQTrainer(), options)


def faiss_pq(options: ModelOptions) -> KernelQuantizer:
    """The faiss IndexPQ peer, which needs the [kernels] extra.

    Raises:
        HarnessError: faiss-cpu is not installed.
    """
    import importlib.util

    from harness.kernels.faiss_pq import FaissPQTrainer

    if importlib.util.find_spec("faiss") is None:
        raise HarnessError("faiss-pq needs faiss-cpu, the [kernels] extra: pip install -e '.[kernels]'")
    return _quantizer("faiss-pq", FaissPQTrainer(), options)


def _circuit_method(name: str, options: ModelOptions) -> CircuitMethod:
    from harness.circuits.methods import METHODS
    from harness.models.circuit_methods import CircuitMethod

    method = METHODS[name]
    parameters: dict[str, JSONValue] = {"method": dict(method.parameters())}
    if options.lm_path is not None:
        parameters["lm_path"] = "(local folder)"  # the path is the user's; the weights' hash is the identity
    info = ModelInfo(id=name, kind="circuit", source="builtin", parameters=parameters)
    return CircuitMethod(info, method, options.lm_path)


def sae_codes(options: ModelOptions) -> CircuitMethod:
    """O'Neill & Bui 2024: SAE codes of head results, at the paper's settings."""
    return _circuit_method("sae-codes", options)


def activation_patching(options: ModelOptions) -> CircuitMethod:
    """Each head patched alone from the negative prompt."""
    return _circuit_method("activation-patching", options)


def attribution_patching(options: ModelOptions) -> CircuitMethod:
    """The first-order estimate of activation patching (one forward, one backward)."""
    return _circuit_method("attribution-patching", options)


def mean_diff(options: ModelOptions) -> CircuitMethod:
    """Control: the norm of the mean difference of each head's last-position result."""
    return _circuit_method("mean-diff", options)
