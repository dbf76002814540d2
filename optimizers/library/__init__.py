"""Other libraries' update rules, run like the built-in ones.

``from_torch(cls_or_name, **hyper)`` (torch.optim, and every rule of the
``pytorch-optimizer`` package's registry) and ``from_optax(transformation_or_name,
**hyper)`` return an :class:`~optimizers.base.Optimizer` that ``optimizers.run`` takes
like any built-in rule. By name they are ``torch:Adam``, ``pytorch_optimizer:Lamb``,
``optax:adamw``: ``get_optimizer`` and ``OPTIMIZERS[...]`` find them through the
resolvers registered here. torch, pytorch-optimizer and optax/jax are imported only
when such a rule is asked for; a missing one gives a ``ValueError`` saying how to
install it. ``available()`` lists every rule of the installed libraries with its
source; ``refused()`` the ones that cannot draw a 2-D path, each with its reason.

Hyperparameters keep the library's names and defaults (see ``specs``); the mapping to
the notes' rules is in the README ("Library rules").
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from dataclasses import replace

import numpy as np

from optimizers.base import OPTIMIZERS, Optimizer, RuleInfo
from optimizers.colours import hue_clear_of
from optimizers.library import specs

PREFIXES = ("torch", "pytorch_optimizer", "optax")
INSTALL = {
    "torch": "pip install 'optviz[torch]'",
    "pytorch_optimizer": "pip install 'optviz[torch]'",
    "optax": "pip install 'optviz[optax]'",
}
PACKAGE = {"torch": "torch", "pytorch_optimizer": "pytorch-optimizer", "optax": "optax"}

# Known reasons a rule cannot draw a path from a point's gradient, by what it asks for.
NEEDS_MODEL = "needs the model itself (an nn.Module) to update during backward, not a point"
NEEDS_HVP = (
    "needs Hessian-vector products through autograd (backward with create_graph=True); "
    "optviz hands a rule the surface's exact gradient, not a graph"
)
NEEDS_MATRIX = "orthogonalises matrix-shaped parameters; a point (x, y) is a vector"
NEEDS_VALUE_FN = "needs the loss as a JAX function (value_fn) for its line search"


def colour_for(name: str) -> str:
    """A colour of the rule's own, the same on every machine: a hue from the name's hash,
    moved on until it is clear of every built-in rule's colour."""
    h = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return hue_clear_of(h % 360, [i.colour for i in OPTIMIZERS.values()])


def needs_jax(key: str) -> bool:
    """Whether the rule of this name runs on JAX (an optax rule)."""
    return key.partition(":")[0] == "optax"


def _missing(prefix: str, name: str) -> ValueError:
    return ValueError(f"{name} needs {PACKAGE[prefix]}, which is not installed: {INSTALL[prefix]}")


def _import(prefix: str):
    try:
        if prefix == "torch":
            import torch.optim

            return torch.optim
        if prefix == "pytorch_optimizer":
            import pytorch_optimizer

            return pytorch_optimizer
        from optimizers.library.optax_rules import import_optax

        return import_optax()[1]
    except (ImportError, ValueError):
        return None


def version(prefix: str) -> str:
    """``"torch.optim 2.13.0"``-style source of a library's rules ("" if not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        v = dist_version(PACKAGE[prefix])
    except PackageNotFoundError:
        return ""
    return f"{'torch.optim' if prefix == 'torch' else PACKAGE[prefix]} {v}"


# ---- what each library offers, by canonical name -------------------------------------


@functools.cache
def _torch_classes() -> dict:
    optim = _import("torch")
    if optim is None:
        return {}
    base = optim.Optimizer
    return {
        n: c
        for n in sorted(dir(optim))
        if isinstance(c := getattr(optim, n), type) and issubclass(c, base) and c is not base
    }


@functools.cache
def _po_classes() -> dict:
    po = _import("pytorch_optimizer")
    if po is None:
        return {}
    out = {}
    for key in po.get_supported_optimizers():
        cls = po.load_optimizer(key)
        out.setdefault(cls.__name__, cls)
    return out


@functools.cache
def _optax_functions() -> dict:
    optax = _import("optax")
    if optax is None:
        return {}
    from optax._src import alias

    def ours(f) -> bool:  # a rule of alias.py, or a partial of one (nadam is adam's)
        f = f.func if isinstance(f, functools.partial) else f
        return inspect.isfunction(f) and f.__module__ == alias.__name__

    return {
        n: f for n in sorted(dir(alias)) if not n.startswith("_") and ours(f := getattr(alias, n))
    }


def _optax_name(fn) -> str:
    """The name optax gives a factory (a partial such as ``optax.nadam`` has none of its
    own), or "custom"."""
    found = [n for n, f in _optax_functions().items() if f is fn]
    return found[0] if found else getattr(fn, "__name__", "custom")


def _catalogue(prefix: str) -> dict:
    return {"torch": _torch_classes, "pytorch_optimizer": _po_classes, "optax": _optax_functions}[
        prefix
    ]()


def available() -> dict[str, str]:
    """Every rule of the installed libraries: ``{"torch:Adam": "torch.optim 2.13.0", ...}``."""
    out = {}
    for prefix in PREFIXES:
        source = version(prefix)
        for n in _catalogue(prefix):
            out[f"{prefix}:{n}"] = source
    return out


def canonical(key: str) -> str:
    """``"pytorch_optimizer:lamb"`` → ``"pytorch_optimizer:Lamb"``; ``ValueError`` if unknown."""
    prefix, _, rest = key.partition(":")
    if prefix not in PREFIXES:
        raise ValueError(f"unknown library {prefix!r} in {key!r}; choose one of: {PREFIXES}")
    if _import(prefix) is None:
        raise _missing(prefix, key)
    names = _catalogue(prefix)
    if rest in names:
        return f"{prefix}:{rest}"
    folded = {n.lower(): n for n in names}
    if prefix == "pytorch_optimizer":  # the registry's own lower-case keys
        po = _import(prefix)
        for k in po.get_supported_optimizers():
            folded.setdefault(k, po.load_optimizer(k).__name__)
    if rest.lower() in folded:
        return f"{prefix}:{folded[rest.lower()]}"
    sample = ", ".join(list(names)[:8])
    raise ValueError(f"{key!r}: {PACKAGE[prefix]} has no rule {rest!r} (it has e.g. {sample}, ...)")


# ---- RuleInfo for a library rule ------------------------------------------------------


def _doc_line(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.strip().split("\n\n")[0].split())[:160]


def static_reason(prefix: str, obj) -> str | None:
    """Why ``obj`` cannot run here, from its signature alone (None if nothing is known)."""
    if prefix == "optax":
        if _optax_name(obj) == "lbfgs":
            return NEEDS_VALUE_FN
        if _optax_name(obj) == "polyak_sgd":
            return "needs the loss value (update(..., value=)) at each step"
        return None
    init = obj.__init__
    if "muon" in obj.__module__.lower() or obj.__name__.lower().endswith("muon"):
        return NEEDS_MATRIX  # Muon's family: param groups of matrices flagged use_muon
    params = list(inspect.signature(init).parameters)
    if len(params) > 1 and params[1] == "model":
        return NEEDS_MODEL
    need = specs.required_args(init)
    if "optimizer" in need:
        return "wraps another optimizer (optimizer=...) rather than being a rule of its own"
    if need:
        return f"needs {', '.join(need)} (no default), which a 2-D landscape does not have"
    return None


def _torch_info(prefix: str, name: str, cls) -> RuleInfo:
    from optimizers.library import torch_rules

    sig = specs.read(specs.signature_defaults(cls.__init__))
    reason = static_reason(prefix, cls)
    elementwise = cls.__module__.startswith("torch.optim") and cls.__name__ in (
        torch_rules.ELEMENTWISE
    )

    def factory(**values):
        if reason:
            raise ValueError(f"{name} is refused: {reason}")
        _no_schedule(name, values)
        kwargs = sig.kwargs(values)
        return torch_rules.adapter(lambda ps: cls(ps, **kwargs), name, elementwise)

    return _info(name, prefix, cls, factory, sig, alone=not elementwise)


# optax's None defaults that turn a part off, as the number that does the same, so that
# the part can be set: momentum 0 is no momentum; learning_rate 1 is adafactor's None,
# and adadelta's step downhill (its None adds the update: the path climbs).
OPTAX_NONE = {"learning_rate": 1.0, "momentum": 0.0}


def _optax_info(name: str, fn) -> RuleInfo:
    defaults = {
        k: OPTAX_NONE[k] if v is None and k in OPTAX_NONE else v
        for k, v in specs.signature_defaults(fn)
    }
    params = inspect.signature(fn).parameters
    if "learning_rate" in params:
        defaults = {"lr": defaults.pop("learning_rate", 0.01), **defaults}
    defaults = [(k, v) for k, v in defaults.items() if k != "learning_rate"]
    sig = specs.read(defaults)
    reason = static_reason("optax", fn)

    def optax_kwargs(values: dict) -> dict:
        if reason:
            raise ValueError(f"{name} is refused: {reason}")
        _no_schedule(name, values)
        kwargs = sig.kwargs(values)
        if "lr" in kwargs:
            kwargs["learning_rate"] = kwargs.pop("lr")
        if "key" in params:  # noisy rules draw from a fixed seed, like run()'s noise
            kwargs["key"] = 0
        return kwargs

    def factory(**values):
        return _optax_adapter(name, fn, tuple(optax_kwargs(values).items()))

    def columns(values: dict, cols: dict):
        if set(cols) & sig.ints or set(cols) & {n for t in sig.tuples.values() for n in t}:
            return None  # an int or a tuple's entry is not a JAX value of the compile
        first = {k: float(np.asarray(v).ravel()[0]) for k, v in cols.items()}
        kwargs = optax_kwargs({**values, **first})
        named = {("learning_rate" if k == "lr" else k): v for k, v in cols.items()}
        from optimizers.library import optax_rules

        return optax_rules.rows_adapter(fn, tuple(kwargs.items()), named, name)

    return replace(_info(name, "optax", fn, factory, sig), columns=columns)


@functools.lru_cache(maxsize=64)
def _optax_adapter(name: str, fn, kwargs: tuple) -> Optimizer:
    """One adapter per rule and values (the pair is pure, so sharing it is safe); its
    jitted step is compiled once per rule (``optax_rules.valued_adapter``)."""
    from optimizers.library import optax_rules

    return optax_rules.valued_adapter(fn, kwargs, name)


def _no_schedule(name: str, values: dict) -> None:
    if callable(values.get("lr")):
        raise ValueError(f"{name} takes a number for lr: schedules are for the built-in rules")


def _info(name, prefix, obj, factory, sig, alone: bool = False) -> RuleInfo:
    """``alone``: the rule steps each row of a batch with its own optimizer (torch_rules)."""
    title = name.partition(":")[2]
    where = {"torch": "torch.optim", "pytorch_optimizer": "pytorch_optimizer", "optax": "optax"}
    return RuleInfo(
        name=name,
        label=name,
        colour=colour_for(name),
        latex=rf"\text{{{where[prefix]}.{title}}}(\nabla_W)".replace("_", r"\_"),
        factory=factory,
        hyper=sig.specs,
        description=_doc_line(obj) or f"{title} from {PACKAGE[prefix]}",
        per_row=False,  # the library's optimizer takes one number per hyperparameter
        # 50-270 µs a step: the library's own step() and a state copy, once per batch or
        # once per row for a rule that steps each row alone
        step_cost=0 if alone else 2_000,
        row_cost=2_000 if alone else 0,
    )


def resolve(key: str) -> RuleInfo:
    """The ``RuleInfo`` of a prefixed name (``OPTIMIZERS``' resolver); ``ValueError`` if none."""
    name = canonical(key)
    prefix, _, rest = name.partition(":")
    obj = _catalogue(prefix)[rest]
    info = _optax_info(name, obj) if prefix == "optax" else _torch_info(prefix, name, obj)
    # Asked for by another spelling (pytorch_optimizer:lamb): answer to that name.
    return info if name == key else _renamed(info, key)


def _renamed(info: RuleInfo, key: str) -> RuleInfo:
    return replace(info, name=key)


for _prefix in PREFIXES:
    OPTIMIZERS.resolvers[_prefix] = resolve


# ---- the public entry points ----------------------------------------------------------


def from_torch(cls_or_name, **hyper) -> Optimizer:
    """A torch.optim / pytorch-optimizer rule as an ``Optimizer``.

    ``cls_or_name``: a ``torch.optim.Optimizer`` subclass, or a name: ``"Adam"``,
    ``"torch:Adam"``, ``"pytorch_optimizer:Lamb"`` (a bare name is looked up in
    torch.optim, then in pytorch-optimizer's registry). ``hyper`` overrides the specs'
    defaults (``betas`` as ``beta1``/``beta2``). float64 throughout.
    """
    if isinstance(cls_or_name, str):
        key = cls_or_name
        if ":" not in key:
            key = f"torch:{key}"
            if _import("torch") is not None and key.partition(":")[2] not in _torch_classes():
                key = f"pytorch_optimizer:{cls_or_name}"
        if not key.startswith(("torch:", "pytorch_optimizer:")):
            raise ValueError(f"from_torch takes a torch rule, got {cls_or_name!r}")
        return OPTIMIZERS.find(key).build(**hyper)
    if _import("torch") is None:
        raise _missing("torch", "from_torch")
    import torch.optim

    if not (isinstance(cls_or_name, type) and issubclass(cls_or_name, torch.optim.Optimizer)):
        raise ValueError(f"from_torch takes a torch.optim.Optimizer class, got {cls_or_name!r}")
    prefix = "torch" if cls_or_name.__module__.startswith("torch.optim") else "pytorch_optimizer"
    info = _torch_info(prefix, f"{prefix}:{cls_or_name.__name__}", cls_or_name)
    return info.build(**hyper)


def from_optax(transformation_or_name, **hyper) -> Optimizer:
    """An optax rule as an ``Optimizer`` (JAX in 64-bit mode, see ``optax_rules``).

    ``transformation_or_name``: ``"adamw"`` / ``"optax:adamw"`` (with ``hyper`` over its
    defaults; ``lr`` is optax's ``learning_rate``), a factory such as ``optax.adam``, or
    a ``GradientTransformation`` already built (then ``hyper`` must be empty).
    """
    x = transformation_or_name
    if isinstance(x, str):
        key = x if x.startswith("optax:") else f"optax:{x}"
        return OPTIMIZERS.find(key).build(**hyper)
    from optimizers.library import optax_rules

    optax_rules.import_optax()
    if hasattr(x, "init") and hasattr(x, "update"):
        if hyper:
            raise ValueError("a built transformation takes no hyperparameters; pass the factory")
        name = "optax:custom"
        return optax_rules.adapter(lambda: x, name)._replace(name=name, hyper={})
    if callable(x):
        return _optax_info(f"optax:{_optax_name(x)}", x).build(**hyper)
    raise ValueError(f"from_optax takes an optax transformation or its name, got {x!r}")


def listing(refusals: bool = True) -> list[tuple[str, str, str]]:
    """``(name, source, note)`` for every rule: the built-in ones (source "optviz"), then
    each installed library's, a refused one's note saying why (``refusals=False``: no
    probing, notes empty)."""
    rows = [(n, "optviz (the notes)", "") for n in OPTIMIZERS]
    bad = refused() if refusals else {}
    rows += [(n, src, f"refused: {bad[n]}" if n in bad else "") for n, src in available().items()]
    return rows


def missing() -> list[str]:
    """One line per library that is not installed, saying how to add it."""
    return [
        f"{PACKAGE[p]} is not installed ({p}:… rules): {INSTALL[p]}"
        for p in PREFIXES
        if _import(p) is None
    ]


# ---- which rules draw: a short probe on a bowl ---------------------------------------


class _Bowl:
    """f = x² + 2y² as an oracle: the probe's surface."""

    name = "bowl"
    has_hessian = True

    @staticmethod
    def value(p):
        p = np.asarray(p, dtype=float)
        return p[..., 0] ** 2 + 2 * p[..., 1] ** 2

    @staticmethod
    def grad(p):
        p = np.asarray(p, dtype=float)
        return np.stack([2 * p[..., 0], 4 * p[..., 1]], axis=-1)

    @staticmethod
    def hessian(p):
        p = np.asarray(p, dtype=float)
        return np.broadcast_to(np.diag([2.0, 4.0]), (*p.shape[:-1], 2, 2)).copy()

    def oracle(self, step, rng):
        return self


PROBE_STEPS = 3


def probe(name: str) -> str | None:
    """None if ``name`` runs ``PROBE_STEPS`` steps on a bowl, else why not (one line)."""
    try:
        opt = OPTIMIZERS.find(name).build()
        x = np.array([1.0, -0.5])
        state = opt.init(x)
        with np.errstate(all="ignore"):
            for _ in range(PROBE_STEPS):
                x, state = opt.step(x, state, _Bowl())
    except ValueError as exc:
        msg = str(exc)
        if " is refused: " in msg:
            return msg.partition(" is refused: ")[2]
        low = msg.lower()
        if "create_graph" in low or "does not require grad" in low or "hessian" in low:
            return NEEDS_HVP
        if "2d" in low.replace("-", "") or "2 dim" in low or "matri" in low:
            return NEEDS_MATRIX
        return msg.partition(": ")[2] or msg
    return None


@functools.cache
def refused() -> dict[str, str]:
    """``{name: reason}`` for each installed library rule that cannot draw a 2-D path."""
    out = {}
    for name in available():
        # optax's rules are refused by their signature alone: probing one compiles it
        # (about 0.3 s each), and tests/optimizers/test_library_registry.py runs them all.
        if name.startswith("optax:"):
            prefix, _, rest = name.partition(":")
            reason = static_reason(prefix, _catalogue(prefix)[rest])
        else:
            reason = probe(name)
        if reason is not None:
            out[name] = reason
    return out


def drawable() -> dict[str, str]:
    """``available()`` less ``refused()``: the rules the app's picker offers."""
    bad = refused()
    return {n: s for n, s in available().items() if n not in bad}


__all__ = [
    "available",
    "canonical",
    "colour_for",
    "drawable",
    "from_optax",
    "from_torch",
    "listing",
    "missing",
    "probe",
    "refused",
    "resolve",
]
