"""Presets: Radford's four scenes in his look, and ours, each a whole ``Scene``.

Each has a one-paragraph ``description`` of what it shows; tests/viz/test_scenes.py
measures every such claim on the real rules, so a preset whose story stops being true
fails a test. To add one: ``register(Scene(...))`` here plus a test of its claim.
"""

from __future__ import annotations

from surfaces import SURFACES, get_surface
from viz.scene.landscape import LandscapeSpec, Rule
from viz.scene.model import (
    RADFORD_COLOURS,
    RADFORD_LABELS,
    RunSpec,
    Scene,
    camera_from_angles,
    our_style,
    radford_style,
)


def radford_run(rule: str, **hyper) -> RunSpec:
    return RunSpec(rule, hyper, RADFORD_LABELS[rule], RADFORD_COLOURS[rule])


PRESETS: dict[str, Scene] = {}


def register(scene: Scene) -> Scene:
    PRESETS[scene.name] = scene
    return scene


def get_preset(name: str) -> Scene:
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


# ---------------------------------------------------------------- Radford's scenes
#
# His six rules with his labels and colours; the adaptive rules put ε inside the root as
# his code did. Starts, step counts and step sizes were chosen so that each scene shows
# what his caption says (tests/viz/test_scenes.py checks every claim numerically); the
# Beale start was measured from his last frame: the dot sits at (1.0, 1.5), and Adagrad's
# first step (α·sign ∇ with α = 1) lands exactly on the x = 0 line as in his frame.

RADFORD_RULES = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop")


def _radford_runs(hyper: dict[str, dict]) -> tuple[RunSpec, ...]:
    adaptive = {"adagrad", "adadelta", "rmsprop"}
    return tuple(
        radford_run(rule, **({"eps_in_sqrt": True} if rule in adaptive else {}), **hyper[rule])
        for rule in RADFORD_RULES
    )


register(
    Scene(
        name="radford-long-valley",
        title="Long valley (Radford)",
        description=(
            "A trough that is steep across and nearly flat along its floor. Methods that do "
            "not scale their steps by gradient information struggle to break the symmetry: "
            "SGD barely moves along the floor, Momentum and NAG swing from wall to wall until "
            "they have built up velocity along it, while Adagrad, Adadelta and RMSprop divide "
            "the tiny along-floor gradient by its own scale and set off down the valley at once."
        ),
        surface="long_valley",
        start=(-2.5, 0.3),
        steps=300,
        runs=_radford_runs(
            {
                "sgd": {"lr": 0.01},
                "momentum": {"lr": 0.01, "momentum": 0.9},
                "nesterov": {"lr": 0.01, "momentum": 0.9},
                "adagrad": {"lr": 0.1},
                "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-5},
                "rmsprop": {"lr": 0.01, "decay": 0.9},
            }
        ),
        style=radford_style(log_levels=True, star_colour="#808080"),
    )
)

register(
    Scene(
        name="radford-beale",
        title="Beale's function (Radford)",
        description=(
            "Beale's function from (1, 1.5), the start of Radford's animation. The large "
            "gradients early on make the velocity-based methods (Momentum, NAG) shoot off "
            "down the hillside before they swing back to the minimum at (3, 0.5); Adagrad's "
            "first step is a full α in each coordinate and throws it to the ridge at x = 0, "
            "nearly unstable; RMSprop and Adadelta curve into the valley and reach the star."
        ),
        surface="beale",
        start=(1.0, 1.5),
        steps=200,
        runs=_radford_runs(
            {
                "sgd": {"lr": 0.001},
                "momentum": {"lr": 0.003, "momentum": 0.9},
                "nesterov": {"lr": 0.003, "momentum": 0.9},
                "adagrad": {"lr": 1.0},
                "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 5e-4},
                "rmsprop": {"lr": 0.02, "decay": 0.9},
            }
        ),
        # His levels run from 1 to 1e5 (log-spaced); f spans ~2e5 here: a floor of 5e-6.
        style=radford_style(log_levels=True, log_floor=5e-6, star_colour="#808080"),
        x_range=(-4.5, 4.5),
        y_range=(-4.5, 4.5),
    )
)

register(
    Scene(
        name="radford-saddle",
        title="Saddle point (Radford)",
        description=(
            "f = x² − y² from a start on the ridge, a hair's breadth (y = 10⁻⁵) off the "
            "symmetry line. SGD sees almost no gradient across the ridge and stays stuck on "
            "it; Momentum and NAG overshoot the saddle point and explore around it before "
            "their velocity finally carries them off; Adagrad, RMSprop and Adadelta divide "
            "the tiny gradient by its own size, so they run down the negative-curvature side "
            "at once."
        ),
        surface="saddle",
        start=(0.7, 1e-5),
        steps=200,
        runs=_radford_runs(
            {
                "sgd": {"lr": 0.01},
                "momentum": {"lr": 0.01, "momentum": 0.9},
                "nesterov": {"lr": 0.01, "momentum": 0.9},
                "adagrad": {"lr": 0.05},
                "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-6},
                "rmsprop": {"lr": 0.01, "decay": 0.9},
            }
        ),
        view="3d",
        style=radford_style(
            star_colour="#808080", camera=camera_from_angles(45.0, 45.0), z_range=(-4.0, 4.0)
        ),
    )
)

# ---------------------------------------------------------------- ours


def _run(rule: str, label: str = "", colour: str = "", **hyper) -> RunSpec:
    return RunSpec(rule, hyper, label, colour)


register(
    Scene(
        name="newton-saddle",
        title="Newton is drawn to the saddle",
        description=(
            "Newton's method jumps to where the local quadratic model has zero gradient — and "
            "on f = x² − y² that is the saddle point, not a minimum: with the Hessian's "
            "negative eigenvalue it steps uphill along y and settles on the saddle. SGD and "
            "Adam only follow the gradient downhill, so they slide off the ridge and escape. "
            "This is one reason plain Newton steps are not used to train networks, whose loss "
            "surfaces are full of saddles."
        ),
        surface="saddle",
        start=(0.7, 0.3),
        steps=100,
        runs=(
            _run("newton", lr=0.1),
            _run("sgd", lr=0.02),
            _run("adam", lr=0.05),
        ),
        view="both",
        style=our_style(camera=camera_from_angles(45.0, 45.0), z_range=(-4.0, 4.0)),
    )
)

register(
    Scene(
        name="ravine-adam-vs-sgd",
        title="A ravine: SGD zig-zags, Adam follows the floor",
        description=(
            "An ill-conditioned bowl (condition number 50) whose valley runs at 30° to the "
            "axes. SGD, with the largest step that is still stable across the ravine, "
            "bounces from wall to wall at every step, and the same α caps its progress along "
            "the floor (28 turns in 100 steps). Momentum averages the bounces away and Adam "
            "rescales its steps: each crosses the floor a handful of times and ends lowest. "
            "RMSprop is lowest at first, but its steps keep their size near the bottom: it "
            "rattles across the floor and its loss climbs back (0.002 at step 50, 0.03 at "
            "100), where Adam's averaged gradient settles."
        ),
        surface="ravine",
        start=(-2.55, -0.78),  # far up the valley, a little off its floor
        steps=100,
        runs=(
            _run("sgd", lr=0.19),
            _run("momentum", lr=0.02, momentum=0.9),
            _run("rmsprop", lr=0.1),
            _run("adam", lr=0.3),
        ),
        style=our_style(log_levels=True),
    )
)

register(
    Scene(
        name="rosenbrock-race",
        title="Every rule on Rosenbrock's banana",
        description=(
            "Every update rule, each with a reasonable step size, from (−1.5, 2) on "
            "Rosenbrock's curved valley. Finding the valley is easy; following its flat, "
            "curved floor to the minimum at (1, 1) is what separates them: plain SGD and "
            "Adagrad crawl, the momentum rules and the Adam family get there, and Newton, "
            "which knows the curvature, arrives in a handful of steps."
        ),
        surface="rosenbrock",
        start=(-1.5, 2.0),
        steps=600,
        runs=(
            _run("sgd", lr=0.001),
            _run("momentum", lr=0.0009, momentum=0.9),
            _run("nesterov", lr=0.0007, momentum=0.9),
            _run("adagrad", lr=0.3),
            _run("rmsprop", lr=0.01),
            _run("adadelta", lr=1.0),
            _run("adam", lr=0.1),
            _run("nadam", lr=0.1),
            _run("amsgrad", lr=0.1),
            _run("lion", lr=0.005),
            _run("newton", lr=0.3),
        ),
        style=our_style(log_levels=True),
    )
)

register(
    Scene(
        name="himmelblau-basins",
        title="One start, three minima",
        description=(
            "Himmelblau's function has four equally good minima. From one start just below "
            "its hump, the rules that follow the gradient itself (SGD, Momentum) take the "
            "steepest way down to the south-west minimum; the per-coordinate rules (Adagrad, "
            "RMSprop, Adam), whose first steps are about α·sign(∇), head east to another; "
            "Lion, which always steps by α·sign, ends in a third. Which minimum you reach "
            "depends on the rule as much as on the start."
        ),
        surface="himmelblau",
        start=(-0.2, -1.4),
        steps=300,
        runs=(
            _run("sgd", lr=0.01),
            _run("momentum", lr=0.005, momentum=0.9),
            _run("adagrad", lr=0.5),
            _run("rmsprop", lr=0.05),
            _run("adam", lr=0.1),
            _run("lion", lr=0.05),
        ),
        style=our_style(log_levels=True),
    )
)

register(
    Scene(
        name="lr-too-high",
        title="One rule, three learning rates",
        description=(
            "SGD on Booth's function, a bowl whose curvature is 18 across its long axis and 2 "
            "along it, so each step multiplies the across part of the distance to the "
            "minimum by (1 − 18α) and the along part by (1 − 2α). With α = 0.02 both factors "
            "are positive: a smooth curve into the minimum. With α = 0.1 the across factor "
            "is −0.8: every step overshoots to the other side and the run zig-zags in. With "
            "α = 0.12 it is −1.16: every overshoot is bigger than the last and the run "
            "diverges, although the same α would be fine along the long axis."
        ),
        surface="booth",
        start=(-3.0, 1.5),
        steps=100,
        runs=(
            _run("sgd", "SGD α = {lr}", "#0072B2", lr=0.02),
            _run("sgd", "SGD α = {lr}", "#009E73", lr=0.1),
            _run("sgd", "SGD α = {lr}", "#D55E00", lr=0.12),
        ),
        style=our_style(),
    )
)

if "logistic_moons" in SURFACES:  # registered with the logistic surface (surfaces.logistic)
    register(
        Scene(
            name="radford-noisy-moons",
            title="Noisy moons (Radford)",
            description=(
                "Radford's fourth animation: logistic regression on scikit-learn's noisy two "
                "moons. The contour is the cross-entropy averaged over the whole data set, over "
                "the model's two weights (inputs centred, no bias); the paths are the "
                "dynamics of mini-batches of 32 points, so each step sees a different batch "
                "and the paths jitter; the strip under the map is each rule's accuracy on all "
                "the data. Momentum and NAG smooth the mini-batch noise away (their paths turn "
                "far less from step to step than SGD's) and overshoot the minimum before they "
                "correct; SGD, Adagrad, Momentum and NAG pass 80 % accuracy within ten steps, "
                "RMSprop and Adadelta take over thirty; all end at the model's best."
            ),
            surface="logistic_moons",
            start=get_surface("logistic_moons").start,
            steps=200,
            runs=_radford_runs(
                {
                    "sgd": {"lr": 1.0},
                    "momentum": {"lr": 0.2, "momentum": 0.9},
                    "nesterov": {"lr": 0.2, "momentum": 0.9},
                    "adagrad": {"lr": 1.0},
                    "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-3},
                    "rmsprop": {"lr": 0.1, "decay": 0.9},
                }
            ),
            # His picture: the 620×480 map, the accuracy strip under it (viz.gif.accuracy).
            style=radford_style(log_levels=True, star_colour="#808080"),
            batch_size=32,
        )
    )

if "noisy_moons" in SURFACES:  # registered with the network surface (surfaces.network)
    register(
        Scene(
            name="noisy-moons-mlp",
            title="Noisy moons, a small network",
            description=(
                "Radford's noisy moons with a 2-3-1 tanh network in place of his logistic "
                "regression, trained on mini-batches of 32 points (gradients by the notes' "
                "backpropagation); the landscape is its full-data loss over two of its "
                "weights. Each step sees a different batch, so the paths jitter. SGD creeps "
                "and is still far from the minimum at the end; Momentum and NAG start as "
                "slowly and speed up as their velocity builds; Adagrad and RMSprop, which "
                "scale each weight's step by its own gradient history, get there first."
            ),
            surface="noisy_moons",
            start=get_surface("noisy_moons").start,
            steps=200,
            runs=_radford_runs(  # his rules and colours, our network
                {
                    "sgd": {"lr": 0.2},
                    "momentum": {"lr": 0.05, "momentum": 0.9},
                    "nesterov": {"lr": 0.05, "momentum": 0.9},
                    "adagrad": {"lr": 0.5},
                    "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-4},
                    "rmsprop": {"lr": 0.05, "decay": 0.9},
                }
            ),
            style=radford_style(log_levels=True, star_colour="#808080"),
            batch_size=32,
        )
    )

# ---------------------------------------------------------------- the network scene
#
# Li et al.'s picture (2018) on a net of ours: every weight trained, all rules drawn in the
# plane of their paths. Learning rates: viz.scene.landscape.NETWORK_LR (a few hundred steps).

register(
    Scene.of_network(
        LandscapeSpec(
            rules=tuple(
                Rule(r) for r in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
            )
        ),
        name="network-moons",
        title="A real network (Li et al.)",
        description=(
            "A 2-16-16-1 tanh network (337 weights) trained on 200 noisy moons in full "
            "dimension, every rule from one initialisation, drawn in the PCA plane of all "
            "paths through SGD's final network. Adam gets lowest and fastest (its loss is "
            "under 0.05 at step 100, every other rule's over 0.08); all six classify 97 % of "
            "the points by the end. The plane is not the whole story: the paths run up to 6 "
            "units away from it, and at RMSprop's end the landscape under its dot is over "
            "three times its true loss (the strip under the views shows both)."
        ),
    )
)
