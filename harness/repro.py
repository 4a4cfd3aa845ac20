"""Standalone repro scripts: plain Python that rebuilds one failing example and prints the error.

The script needs torch and triton only (not fusefuzz): the reference module's source and the input
generators (:func:`fusefuzz.harness.example.make_values`, :func:`fusefuzz.harness.example.apply_layout`) are embedded
verbatim, so the numbers are the harness's own. It imports the candidate from its file, copies the
reference's parameters with the same mapping the harness used, pins the failing autotune config, runs
both, prints the error against a float64 reference, and exits 1 when the output is non-finite where the
reference is finite or when the error exceeds the bound the harness reported.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import textwrap

from . import example as example_mod

_TEMPLATE = '''\
#!/usr/bin/env python3
"""fusefuzz repro: {kind} in {candidate} on problem {problem}.

{message}

Run: python {script_name}
"""
import copy
import importlib.util
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported

inf, nan = float("inf"), float("nan")  # as they appear in the lists below
CANDIDATE_FILE = {candidate_file!r}
CANDIDATE_KWARGS = {kwargs!r}
EXAMPLE = {example!r}
INIT_ARGS = {init_args!r}
INPUT_SHAPES = {input_shapes!r}
PARAM_MAP = {param_map!r}  # reference parameter -> candidate parameter
CONFIG_INDEX = {config_index!r}  # each autotuned kernel runs config CONFIG_INDEX % len(configs)
POLICY = {policy!r}
# What the harness compared against and the absolute error it allowed per output (None: not numerical)
EXPECTED = {expected!r}
ALLOWED = {allowed!r}

{build_block}

DTYPES = {{"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}}


def pin_configs(module):
    from triton.runtime.autotuner import Autotuner

    for value in vars(module).values():
        obj = value
        for _ in range(4):
            if isinstance(obj, Autotuner):
                obj.configs = [obj.configs[CONFIG_INDEX % len(obj.configs)]]
                break
            obj = getattr(obj, "fn", None)


def main():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = DTYPES[EXAMPLE["dtype"]]
    inputs, reference = build(device, dtype)

    spec = importlib.util.spec_from_file_location("fusefuzz_repro_candidate", CANDIDATE_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    pin_configs(module)
    model = module.ModelNew(*INIT_ARGS, **CANDIDATE_KWARGS).to(device=device, dtype=dtype).eval()
    ref_params, cand_params = dict(reference.named_parameters()), dict(model.named_parameters())
    with torch.no_grad():
        for rn, cn in PARAM_MAP.items():
            cand_params[cn].copy_(ref_params[rn])

    originals = [x.clone() for x in inputs]
    with torch.no_grad():
        out = model(*inputs)
        ref64 = copy.deepcopy(reference).double()(*[x.double() if x.is_floating_point() else x
                                                    for x in originals])
        ref_dtype = reference(*originals)
    if device == "cuda":
        torch.cuda.synchronize()
    print("example:", EXAMPLE)
    if not isinstance(out, torch.Tensor) or out.shape != ref64.shape:
        print("bad output:", type(out).__name__, getattr(out, "shape", None), "expected", tuple(ref64.shape))
        return 1
    for i, (x, x0) in enumerate(zip(inputs, originals)):
        if not torch.equal(x, x0):
            print(f"input {{i}} was modified by the candidate")
            return 1
    err = (out.double() - ref64).abs()
    finite = torch.isfinite(ref64)
    bad_nonfinite = int((finite & ~torch.isfinite(out.double())).sum())
    worst = int(torch.nan_to_num(err, nan=float("inf")).argmax())
    print(f"non-finite outputs where the reference is finite: {{bad_nonfinite}} / {{out.numel()}}")
    print(f"max |candidate - float64 reference| = {{err.flatten()[worst].item():.6g}} at flat index {{worst}}"
          f" (reference {{ref64.flatten()[worst].item():.6g}}, candidate {{out.double().flatten()[worst].item():.6g}})")
    print(f"for scale: max |torch at {{EXAMPLE['dtype']}} - float64 reference| = "
          f"{{(ref_dtype.double() - ref64).abs().max().item():.6g}}")
    failed = bad_nonfinite > 0
    if ALLOWED is not None:
        expected = torch.tensor(EXPECTED, dtype=torch.float64)
        allowed = torch.tensor(ALLOWED, dtype=torch.float64)
        diff = (out.double().cpu() - expected).abs()
        over = torch.nan_to_num(diff, nan=float("inf")) > allowed
        ratio = (torch.nan_to_num(diff, nan=float("inf")) / allowed).max().item()
        print(f"policy {{POLICY}}: {{int(over.sum())}} / {{out.numel()}} outputs over the allowed error "
              f"(worst error/allowed {{ratio:.4g}})")
        failed = failed or bool(over.any())
    print("FAIL" if failed else "no numerical failure reproduced (see the message above for the kind)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
'''


_DEFAULT_BUILD = '''\
# ---- reference (source of {ref_qualname}) ----
{reference_source}

# ---- input generation (source of fusefuzz.harness.example) ----
{make_values_source}

{apply_layout_source}


def build(device, dtype):
    gen = torch.Generator().manual_seed(EXAMPLE["seed"])
    inputs = []
    for shape in INPUT_SHAPES:
        t = make_values(shape, EXAMPLE["distribution"], EXAMPLE["scale"], gen).to(dtype).to(device)
        inputs.append(apply_layout(t, EXAMPLE["layout"]))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(EXAMPLE["seed"])
        reference = {ref_name}(*INIT_ARGS)
    return inputs, reference.to(device=device, dtype=dtype).eval()'''

_KERNELBENCH_BUILD = '''\
# ---- reference: {path}, with this example's sizes written in ----
REFERENCE_SOURCE = {text!r}
PARAM_SEED = {param_seed!r}  # the reference's parameters are drawn under this seed

# ---- input preparation (source of fusefuzz.harness.example.apply_layout, fusefuzz.harness.problems.kernelbench) ----
{apply_layout_source}

{prepare_inputs_source}


def build(device, dtype):
    ns = {{"__name__": "fusefuzz_reference"}}
    exec(compile(REFERENCE_SOURCE, {path!r}, "exec"), ns)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(EXAMPLE["seed"])
        raw = list(ns["get_inputs"]())
    inputs = prepare_inputs(raw, dtype, EXAMPLE["layout"], EXAMPLE["distribution"], EXAMPLE["scale"], device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(PARAM_SEED)
        reference = ns["Model"](*ns["get_init_inputs"]())
    return inputs, reference.to(device=device, dtype=dtype).eval()'''


def kernelbench_build_block(text: str, path: str, param_seed: int, prepare_inputs_source: str) -> str:
    """``build(device, dtype)`` for a problem made from a reference file: the file's text (sizes written
    in) is executed, ``get_inputs()`` runs under the example's seed, the inputs are prepared as the harness
    prepares them (:func:`fusefuzz.harness.problems.kernelbench.prepare_inputs`)."""
    return _KERNELBENCH_BUILD.format(path=path, text=text, param_seed=param_seed,
                                     apply_layout_source=inspect.getsource(example_mod.apply_layout),
                                     prepare_inputs_source=prepare_inputs_source)


def _build_block(problem, ex) -> str:
    custom = getattr(problem, "repro_build", None)
    if custom is not None:
        return custom(ex)
    ref = problem.reference
    return _DEFAULT_BUILD.format(
        ref_qualname=f"{ref.__module__}.{ref.__qualname__}",
        ref_name=ref.__name__,
        reference_source=textwrap.dedent(inspect.getsource(ref)),
        make_values_source=inspect.getsource(example_mod.make_values),
        apply_layout_source=inspect.getsource(example_mod.apply_layout),
    )


def write(problem, candidate, failure, directory: str) -> str:
    """Write the repro script for ``failure`` into ``directory``; return its path."""
    os.makedirs(directory, exist_ok=True)
    ex = failure.example
    key = hashlib.sha1(f"{candidate.name}|{failure.kind}|{ex.json()}|{failure.config}".encode()).hexdigest()[:10]
    stem = os.path.splitext(os.path.basename(candidate.name))[0].replace(".", "_")
    script_name = f"repro_{stem}_{failure.kind}_{key}.py"
    path = os.path.join(directory, script_name)
    text = _TEMPLATE.format(
        kind=failure.kind,
        candidate=candidate.name,
        problem=problem.name,
        message=textwrap.indent(failure.message.replace('"""', "'''").replace("\\", "\\\\"), "    ").strip(),
        script_name=script_name,
        candidate_file=candidate.path or inspect.getfile(candidate.module),
        kwargs=dict(candidate.kwargs),
        example=ex.to_dict(),
        init_args=tuple(problem.init_args(ex)),
        input_shapes=[tuple(s) for s in problem.input_shapes(ex)],
        param_map=failure.details.get("param_map", {}),
        config_index=failure.details.get("config_index", 0),
        policy=failure.details.get("policy"),
        expected=failure.details.get("expected"),
        allowed=failure.details.get("allowed"),
        build_block=_build_block(problem, ex),
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path
