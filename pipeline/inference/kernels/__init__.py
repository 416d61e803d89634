"""Optional compiled CPU kernel for 2-bit packed ternary weights, with a pure-PyTorch fallback.

``load_kernel()`` compiles ``ternary_cpu.cpp`` (and ``int8_head.cpp``, the int8 output head) with ``torch.utils.cpp_extension.load`` at first use
(tens of seconds, once per machine; later processes load the cached build) and returns ``None``
with a warning if that fails, so callers always have the reference path. ``ternary_linear`` is the
float-in, float-out layer: int8 per-token activations (as ``pipeline.model.quant`` fake-quantizes them),
an exact integer matmul, then one rescale. Inference only: nothing here records gradients.

Environment: ``TERNARYLM_KERNEL_CACHE`` moves the build cache (default ``~/.cache/ternarylm_kernels``);
``TERNARYLM_DISABLE_KERNEL=1`` makes ``load_kernel()`` return ``None`` without compiling.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
import warnings
from pathlib import Path
from types import ModuleType
from typing import Iterator

import torch

from pipeline.inference.packing import ternary_matmul_reference
from pipeline.model.quant import EPS, activation_codes

SOURCE = Path(__file__).with_name("ternary_cpu.cpp")  # the module's bindings; the other sources add functions
SOURCES = (SOURCE, Path(__file__).with_name("int8_head.cpp"))
_NO_ROWS = torch.empty(0)  # "one alpha for the whole layer" for the fused kernel call
CACHE_ENV = "TERNARYLM_KERNEL_CACHE"
DISABLE_ENV = "TERNARYLM_DISABLE_KERNEL"

# Compiler flag sets (cflags, ldflags), tried in order: the fast build (native vector instructions,
# OpenMP so that at::parallel_for really runs in parallel), then a plain one for compilers that reject
# -march=native or -fopenmp. The OpenMP runtime is the one torch already loaded (same soname), so
# torch.set_num_threads governs the kernel's threads too.
FLAG_SETS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("-O3", "-march=native", "-fopenmp"), ("-fopenmp",)),
    (("-O3",), ()),
)


def _cpu_fingerprint() -> str:
    """A string that changes when the CPU's model or instruction set does (Linux: /proc/cpuinfo)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    wanted = ("model name", "flags", "Features", "CPU part")  # x86 and ARM spellings
    seen = sorted({line.strip() for line in lines if line.split(":")[0].strip() in wanted})
    return "|".join(seen) or f"{platform.machine()}|{platform.processor()}"


def kernel_build_dir() -> Path:
    """Where the extension is built: the cache root plus a key of torch, Python and CPU.

    A ``-march=native`` binary may crash on another CPU, so a cache shared between machines (a
    network home directory) keeps one build per CPU type rather than reusing the wrong one.
    """
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ternarylm_kernels").expanduser()
    key = f"{torch.__version__}|{platform.python_version()}|{_cpu_fingerprint()}"
    return root / hashlib.sha256(key.encode()).hexdigest()[:16]


def _short_error(err: BaseException, limit: int = 400) -> str:
    """The error's type and the end of its message (compiler logs are long; the cause is at the end)."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[-limit:]}"


@functools.lru_cache(maxsize=1)
def load_kernel() -> ModuleType | None:
    """Build (first time) and import the ``ternary_cpu`` extension.

    Returns the module, exposing ``ternary_linear_int8(x_codes, packed, in_features)``, or ``None``
    after a ``RuntimeWarning`` if every flag set fails to compile or load. Cached: later calls in
    the process return the same answer at no cost.
    """
    if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
        return None
    errors = []
    for index, (cflags, ldflags) in enumerate(FLAG_SETS):
        # One folder per flag set: cpp_extension rebuilds when flags change, so sharing one would
        # make a fallback build and a fast one evict each other.
        build_dir = kernel_build_dir() / f"flags{index}"
        try:
            from torch.utils.cpp_extension import load  # imported lazily: it pulls in setuptools

            build_dir.mkdir(parents=True, exist_ok=True)  # load() needs it to exist (its lock file)
            return load(name="ternary_cpu", sources=[str(path) for path in SOURCES], extra_cflags=list(cflags),
                        extra_ldflags=list(ldflags), build_directory=str(build_dir), verbose=False)
        except Exception as err:  # any failure (no compiler, no ninja, build error) means: fall back
            errors.append(f"[{' '.join(cflags)}] {_short_error(err)}")
    warnings.warn("could not build the ternary CPU kernel; using the pure-PyTorch path instead. "
                  + " ; ".join(errors), RuntimeWarning, stacklevel=2)
    return None


def quantize_activations(x: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token absmax quantization, the same arithmetic as ``pipeline.model.quant.fake_quantize_activations``.

    Input: float (T, in). Outputs: int8 codes (T, in) in [-2**(bits-1), 2**(bits-1) - 1] and the
    float32 per-token scale (T, 1) = absmax / (2**(bits-1) - 1), so that x ~= codes * scale.
    """
    if not 2 <= bits <= 8:
        raise ValueError(f"activation bits must be in 2..8 to fit int8, got {bits}")
    codes, scale = activation_codes(x.detach().to(torch.float32), bits)
    return codes.to(torch.int8), scale


def ternary_linear(x_float: torch.Tensor, packed: torch.Tensor, in_features: int,
                   weight_scale: float | torch.Tensor, act_bits: int = 8, use_kernel: bool = True) -> torch.Tensor:
    """y = quantize(x) @ codes.T * weight_scale for 2-bit packed ternary weights.

    Inputs: x_float (..., in_features), typically (T, in); packed uint8 (out, ceil(in / 4)) from
    ``pipeline.inference.packing.pack_ternary_2bit``; weight_scale the per-tensor alpha, or a float32 vector
    (out,) of one alpha per output row (several layers that share an input, stacked); act_bits the
    activation precision. Output: float32 (..., out).

    With ``use_kernel`` (and the kernel built, and CPU tensors) quantization, the integer products
    and the rescale by x_scale * alpha run in one C++ call; otherwise the dequantized activations
    go through ``ternary_matmul_reference``. The two agree to float32 rounding.
    """
    if x_float.shape[-1] != in_features:
        raise ValueError(f"x has {x_float.shape[-1]} features, the packed weight expects {in_features}")
    if not 2 <= act_bits <= 8:
        raise ValueError(f"activation bits must be in 2..8 to fit int8, got {act_bits}")
    leading = x_float.shape[:-1]
    rows = weight_scale if isinstance(weight_scale, torch.Tensor) else None
    kernel = load_kernel() if use_kernel else None
    x2d = x_float.reshape(-1, in_features)
    if kernel is not None and x2d.device.type == "cpu" and packed.device.type == "cpu":
        y = kernel.ternary_linear_fused(x2d.detach().to(torch.float32), packed, in_features,
                                        0.0 if rows is not None else float(weight_scale),
                                        _NO_ROWS if rows is None else rows.to(torch.float32).contiguous(), act_bits, EPS)
    else:
        codes, x_scale = quantize_activations(x2d, act_bits)
        dequantized = codes.to(torch.float32) * x_scale
        y = ternary_matmul_reference(dequantized, packed, in_features, 1.0 if rows is not None else weight_scale)
        if rows is not None:
            y = y * rows.to(torch.float32)
    return y.reshape(*leading, -1)


INT8_MAX = 127  # the int8 head's weights and activations: symmetric codes in [-127, 127]


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A float (out, in) matrix as int8 codes in [-127, 127] and one float32 scale per row (absmax /
    127, at least EPS / 127), so that weight ~= codes * scale[:, None]; the int8 head's storage."""
    w = weight.detach().to(torch.float32)
    scale = w.abs().amax(dim=1).clamp_min(EPS) / INT8_MAX
    codes = torch.round(w / scale[:, None]).clamp(-INT8_MAX, INT8_MAX).to(torch.int8)
    return codes, scale


def int8_linear(x_float: torch.Tensor, weight: torch.Tensor, row_scale: torch.Tensor, bias: torch.Tensor | None,
                use_kernel: bool = True) -> torch.Tensor:
    """y = (int8(x) @ weight.T) * x_scale * row_scale + bias: the int8 head (weight int8 (out, in) from
    :func:`quantize_rows`, row_scale float32 (out,), bias float32 (out,) or None), activations quantized
    per token to int8 as the ternary layers quantize theirs. Output float32 (..., out).

    With ``use_kernel`` (and the kernel built, CPU tensors) one C++ call; otherwise the integer sums
    in float64 (exact), then the same float32 rescale. The two agree to float32 rounding (the kernel
    may fuse the final multiply-add)."""
    leading = x_float.shape[:-1]
    x2d = x_float.reshape(-1, x_float.shape[-1]).detach().to(torch.float32)
    kernel = load_kernel() if use_kernel else None
    if kernel is not None and x2d.device.type == "cpu" and weight.device.type == "cpu":
        y = kernel.int8_linear(x2d, weight, row_scale, _NO_ROWS if bias is None else bias, EPS)
    else:
        codes, x_scale = quantize_activations(x2d, 8)
        sums = (codes.to(torch.float64) @ weight.to(torch.float64).T).to(torch.float32)
        y = sums * (x_scale * row_scale)
        if bias is not None:
            y = y + bias
    return y.reshape(*leading, -1)


KERNEL_PATHS = ("scalar", "avx2", "avx512", "avx512vnni", "avx512bf16")  # every inner-loop path the sources have, narrowest first


def compiled_paths() -> tuple[str, ...]:
    """The inner-loop paths the built kernel holds (the build targets this CPU, so each is one it has);
    empty without a kernel."""
    kernel = load_kernel()
    return () if kernel is None else tuple(kernel.compiled_paths())


@contextlib.contextmanager
def forced_path(name: str) -> Iterator[None]:
    """Within the block every kernel call runs the ``name`` path's inner loops (one of
    :func:`compiled_paths`), then the one in force before; for tests and profiles of each path."""
    kernel = load_kernel()
    if kernel is None:
        raise RuntimeError("the C++ kernel is not built: no path to force")
    before = kernel.current_path()
    kernel.set_path(name)
    try:
        yield
    finally:
        kernel.set_path(before)
