#!/usr/bin/env python3
"""Write the NIR test fixtures of `spikeslice import --nir` (train/tests/integration/nir.rs).

Each fixture is a small graph written with the reference `nir` package, the
way the SNN frameworks export theirs (HDF5, gzip-compressed datasets). The
files are committed, so the tests run offline and without Python; run this
script again only to change them:

    pip install nir==1.0.8
    python3 scripts/nir-fixtures.py train/tests/fixtures/nir

Weights are multiples of 1/8 with a largest magnitude of exactly 7/8, so a
4-bit import represents them without rounding, and the tests can check the
imported integer network spike for spike against a float reference of NIR's
equations.
"""

import sys
from pathlib import Path

import h5py
import nir
import numpy as np

rng = np.random.default_rng(20261203)


def dyadic(shape):
    """Random multiples of 1/8 in [-7/8, 7/8], with 7/8 itself present."""
    w = rng.integers(-7, 8, size=shape).astype(np.float32)
    w.flat[0] = 7.0
    return w / 8.0


def neurons(n, threshold):
    return (np.ones(n, np.float32), np.full(n, threshold, np.float32))


def mlp_if():
    """Input(16) -> Affine -> IF -> Affine -> IF -> Output: a spiking last layer."""
    r1, t1 = neurons(12, 1.3)
    r2, t2 = neurons(5, 0.9)
    return nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([16])),
        nir.Affine(weight=dyadic((12, 16)), bias=np.full(12, 0.25, np.float32)),
        nir.IF(r=r1, v_threshold=t1),
        nir.Affine(weight=dyadic((5, 12)), bias=np.zeros(5, np.float32)),
        nir.IF(r=r2, v_threshold=t2),
        nir.Output(output_type=np.array([5])),
    )


def cnn_sumpool():
    """Input(2,8,8) -> Conv2d -> IF -> SumPool2d -> Flatten -> Affine -> IF
    -> Affine -> Output, in the Sinabs CNN's shape."""
    c_r = np.ones((4, 8, 8), np.float32)
    c_t = np.full((4, 8, 8), 1.5, np.float32)
    h_r, h_t = neurons(6, 2.0)
    return nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2, 8, 8])),
        nir.Conv2d(
            input_shape=(8, 8),
            weight=dyadic((4, 2, 3, 3)),
            stride=1,
            padding=1,
            dilation=1,
            groups=1,
            bias=np.zeros(4, np.float32),
        ),
        nir.IF(r=c_r, v_threshold=c_t),
        nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
        nir.Affine(weight=dyadic((6, 64)), bias=np.zeros(6, np.float32)),
        nir.IF(r=h_r, v_threshold=h_t),
        nir.Affine(weight=dyadic((3, 6)), bias=np.zeros(3, np.float32)),
        nir.Output(output_type=np.array([3])),
    )


def scale_avgpool():
    """Input(2,4,4) -> Conv2d -> Scale -> IF -> AvgPool2d -> Flatten -> Affine
    -> IF -> Affine -> Output: a Scale folded into the conv, an average pool's
    1/4 into the next affine (exact: both are powers of two)."""
    return nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2, 4, 4])),
        nir.Conv2d(
            input_shape=(4, 4),
            weight=dyadic((3, 2, 3, 3)),
            stride=1,
            padding=1,
            dilation=1,
            groups=1,
            bias=np.zeros(3, np.float32),
        ),
        nir.Scale(scale=np.full(3, 0.5, np.float32)),
        nir.IF(r=np.ones((3, 4, 4), np.float32), v_threshold=np.full((3, 4, 4), 0.7, np.float32)),
        nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        nir.Flatten(input_type={"input": np.array([3, 2, 2])}, start_dim=0, end_dim=-1),
        nir.Affine(weight=dyadic((6, 12)), bias=np.zeros(6, np.float32)),
        nir.IF(r=np.ones(6, np.float32), v_threshold=np.full(6, 0.6, np.float32)),
        nir.Affine(weight=dyadic((4, 6)), bias=np.zeros(4, np.float32)),
        nir.Output(output_type=np.array([4])),
        type_check=False,
    )


def lif_li():
    """Input(6) -> Linear -> LIF -> Linear -> LI -> Output (Norse, Spyx)."""
    n = 8
    return nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([6])),
        nir.Linear(weight=dyadic((n, 6))),
        nir.LIF(
            tau=np.full(n, 0.004, np.float32),
            r=np.ones(n, np.float32),
            v_leak=np.zeros(n, np.float32),
            v_threshold=np.full(n, 0.5, np.float32),
        ),
        nir.Linear(weight=dyadic((3, n))),
        nir.LI(
            tau=np.full(3, 0.008, np.float32),
            r=np.ones(3, np.float32),
            v_leak=np.zeros(3, np.float32),
        ),
        nir.Output(output_type=np.array([3])),
    )


def recurrent():
    """An IF layer feeding itself through an Affine: a cycle."""
    n = 4
    nodes = {
        "input": nir.Input(input_type=np.array([3])),
        "fc": nir.Affine(weight=dyadic((n, 3)), bias=np.zeros(n, np.float32)),
        "lif": nir.IF(r=np.ones(n, np.float32), v_threshold=np.ones(n, np.float32)),
        "rec": nir.Affine(weight=dyadic((n, n)), bias=np.zeros(n, np.float32)),
        "output": nir.Output(output_type=np.array([n])),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def cubalif():
    """A current-based LIF: no integer neuron of spikeslice represents it."""
    n = 4
    one = np.ones(n, np.float32)
    return nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([3])),
        nir.Affine(weight=dyadic((n, 3)), bias=np.zeros(n, np.float32)),
        nir.CubaLIF(
            tau_syn=one * 0.002,
            tau_mem=one * 0.004,
            r=one,
            v_leak=one * 0,
            v_threshold=one,
        ),
        nir.Affine(weight=dyadic((2, n)), bias=np.zeros(2, np.float32)),
        nir.Output(output_type=np.array([2])),
        type_check=False,
    )


def residual():
    """A SEW-style sum: the IF's spikes and the input of the block meet."""
    n = 4
    nodes = {
        "input": nir.Input(input_type=np.array([n])),
        "fc1": nir.Affine(weight=dyadic((n, n)), bias=np.zeros(n, np.float32)),
        "if1": nir.IF(r=np.ones(n, np.float32), v_threshold=np.ones(n, np.float32)),
        "fc2": nir.Affine(weight=dyadic((n, n)), bias=np.zeros(n, np.float32)),
        "if2": nir.IF(r=np.ones(n, np.float32), v_threshold=np.ones(n, np.float32)),
        "output": nir.Output(output_type=np.array([n])),
    }
    edges = [("input", "fc1"), ("fc1", "if1"), ("if1", "fc2"), ("fc2", "if2"),
             ("input", "if2"), ("if2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def quarters(shape):
    """Random multiples of 1/4 in [-7/4, 7/4], with 7/4 itself present: a
    4-bit import quantizes them at a step of 1/4, so a shortcut of spikes
    (1.0 each) is exactly 4 steps."""
    w = rng.integers(-7, 8, size=shape).astype(np.float32)
    w.flat[0] = 7.0
    return w / 4.0


def quarter_chain(n, hidden, classes):
    """Input(n) -> (Affine -> IF) x hidden -> Affine(classes) -> Output, with
    weights on the 1/4 grid: nodes input, fc0, if0, ..., fc<hidden>, output."""
    nodes = {"input": nir.Input(input_type=np.array([n]))}
    edges, prev = [], "input"
    for i in range(hidden):
        nodes[f"fc{i}"] = nir.Affine(weight=quarters((n, n)), bias=np.zeros(n, np.float32))
        nodes[f"if{i}"] = nir.IF(r=np.ones(n, np.float32), v_threshold=np.ones(n, np.float32))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"if{i}")]
        prev = f"if{i}"
    last = f"fc{hidden}"
    nodes[last] = nir.Affine(weight=quarters((classes, n)), bias=np.zeros(classes, np.float32))
    nodes["output"] = nir.Output(output_type=np.array([classes]))
    edges += [(prev, last), (last, "output")]
    return nodes, edges


def residual_block(sew):
    """A stem, then a block whose input (the stem's spikes) is added to the
    second IF's input (Spiking ResNet) or summed with its spikes before the
    readout (SEW-ResNet)."""
    nodes, edges = quarter_chain(8, 3, 3)
    edges.append(("if0", "fc3") if sew else ("if0", "if2"))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def bad_sum(kind):
    """Sums the integer model cannot express: two weighted sums into one IF
    ("weighted"), or the input's values and spikes into one Affine ("units")."""
    nodes, edges = quarter_chain(4, 2, 2)
    if kind == "weighted":
        nodes["fc0b"] = nir.Affine(weight=quarters((4, 4)), bias=np.zeros(4, np.float32))
        edges += [("if0", "fc0b"), ("fc0b", "if1")]
    else:
        edges.append(("input", "fc1"))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def with_v_reset():
    """An IF that resets to 0.5: neither of the integer neuron's resets."""
    n = 4
    return nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([3])),
        nir.Affine(weight=dyadic((n, 3)), bias=np.zeros(n, np.float32)),
        nir.IF(r=np.ones(n, np.float32), v_threshold=np.ones(n, np.float32),
               v_reset=np.full(n, 0.5, np.float32)),
        nir.Affine(weight=dyadic((2, n)), bias=np.zeros(2, np.float32)),
        nir.Output(output_type=np.array([2])),
    )


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "train/tests/fixtures/nir")
    out.mkdir(parents=True, exist_ok=True)
    graphs = {
        "mlp-if": mlp_if(),
        "cnn-sumpool": cnn_sumpool(),
        "lif-li": lif_li(),
        "recurrent": recurrent(),
        "cubalif": cubalif(),
        "residual": residual(),
        "v-reset": with_v_reset(),
    }
    for name, g in graphs.items():
        nir.write(out / f"{name}.nir", g)
    # Damaged copies of mlp-if: an edge to a node that does not exist, and a
    # version this build does not read.
    for name, edit in [
        ("dangling-edge", lambda f: f["node/edges"].__setitem__(1, [b"affine", b"ghost"])),
        ("future-version", lambda f: (f.__delitem__("version"),
                                      f.create_dataset("version", data="2.0.0", dtype=h5py.string_dtype()))),
    ]:
        path = out / f"{name}.nir"
        nir.write(path, mlp_if())
        with h5py.File(path, "r+") as f:
            edit(f)
    # Written last, so that adding it left the fixtures above unchanged.
    nir.write(out / "scale-avgpool.nir", scale_avgpool())
    nir.write(out / "resnet-spiking.nir", residual_block(sew=False))
    nir.write(out / "resnet-sew.nir", residual_block(sew=True))
    nir.write(out / "sum-weighted.nir", bad_sum("weighted"))
    nir.write(out / "sum-units.nir", bad_sum("units"))
    for p in sorted(out.glob("*.nir")):
        print(f"{p} ({p.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
