"""The vocabulary of verdicts: every failure the harness reports has exactly one of these kinds.

Kept as plain strings (they go into JSON reports and zoo headers) with one place that lists them.
"""

from __future__ import annotations

#: Output differs from the reference by more than the tolerance policy allows.
MISMATCH = "mismatch"
#: NaN or inf where the float64 reference is finite (never excused by ``equal_nan``).
NAN = "nan"
#: ``forward`` (or the kernel launch) raised a Python exception.
EXCEPTION = "exception"
#: The worker process died (signal, abort, CUDA error): see the isolated runner.
CRASH = "crash"
#: The example did not finish within its time limit.
TIMEOUT = "timeout"
#: Output is not a tensor, or has the wrong shape, dtype or device.
BAD_OUTPUT = "bad_output"
#: The candidate changed its inputs or parameters (checked by content).
INPUT_MUTATED = "input_mutated"
#: A second call with new values returned the old answer (caching by shape/pointer, lazy outputs).
STALE_OUTPUT = "stale_output"
#: The candidate computed with PyTorch's own ops instead of (or besides) its Triton kernel.
TORCH_FALLBACK = "torch_fallback"
#: Part of the output was never written (shows through poisoned allocations).
UNINITIALIZED_OUTPUT = "uninitialized_output"
#: Two runs on the same inputs disagree beyond what the kernel declares.
NONDETERMINISTIC = "nondeterministic"
#: f(cat(a, b)) != cat(f(a), f(b)) or a batch permutation is not followed.
BATCH_VARIANCE = "batch_variance"
#: The errors are inconsistent with the precision contract the kernel declares.
PRECISION_CONTRACT = "precision_contract"
#: The candidate changed what the reference or the clock uses in its process: replaced a torch callable
#: (``torch.nn.functional.gelu``, a ``Tensor`` method, a module's ``forward``, ``torch.cuda.Event.elapsed_time``)
#: or flipped a numerics switch (TF32, default dtype, flush-to-zero...), at import or during a call
#: (see :mod:`fusefuzz.harness.tamper`).
TAMPERING = "tampering"

#: The reference has a parameter the candidate has no counterpart for at all (no parameter of that name, none
#: of that shape left over): it computes without it (e.g. a convolution with no bias), whatever its values.
MISSING_PARAMETER = "missing_parameter"

#: The first call of an example ran Triton's autotuner (every config benchmarked on the caller's own buffers) and
#: its answer is wrong while the cached config's next answer is right (e.g. atomics without ``reset_to_zero``).
AUTOTUNE_SIDE_EFFECT = "autotune_side_effect"

FAILURE_KINDS = (
    MISMATCH, NAN, EXCEPTION, CRASH, TIMEOUT, BAD_OUTPUT, INPUT_MUTATED, STALE_OUTPUT,
    TORCH_FALLBACK, UNINITIALIZED_OUTPUT, NONDETERMINISTIC, BATCH_VARIANCE, PRECISION_CONTRACT, MISSING_PARAMETER,
    TAMPERING, AUTOTUNE_SIDE_EFFECT,
)

# Notes: findings a user should know that are not wrong answers. They never fail a campaign unless it is strict
# (``--strict``, ``--fusefuzz-strict``, every registered kernel), where they fail with their own kind.

#: Reference aten ops ran in PyTorch beside a launched Triton kernel (e.g. cuDNN's conv + a Triton epilogue).
PARTIAL_FUSION = "partial_fusion"
#: The candidate raised (or refused) on a dtype/layout outside the contract it declares.
OUT_OF_SCOPE = "out_of_scope"

NOTE_KINDS = (PARTIAL_FUSION, OUT_OF_SCOPE)

#: Not a verdict: the backend cannot run this case correctly (e.g. bf16 ``tl.dot`` in the interpreter).
UNSUPPORTED = "unsupported"
