"""The plug-in's settings (its GIMP argument names and values) and what they become:
the protocol's edit parameters and the result layer's name."""

DEFAULT_SERVER = "ws://127.0.0.1:7860"
THRESHOLDS = ("linear", "quadratic", "cubic", "log", "sigmoid")
MODES = ("single", "chain")
SOURCES = ("lowest", "visible")  # the lowest selected layer, or the visible image
MAPS = ("alpha", "selection", "drawable")  # where the global edit map comes from

# GIMP argument name -> protocol parameter, for the settings sent as they are.
PARAMS = {
    "prompt": "prompt",
    "negative-prompt": "negative_prompt",
    "strength": "strength",
    "steps": "steps",
    "guidance": "guidance",
    "threshold": "threshold",
    "mode": "mode",
    "transition": "transition",
    "grow": "grow",
    "feather": "feather",
    "invert": "invert",
}


def edit_params(settings: dict) -> dict:
    """The protocol's `params` of an edit; a negative seed lets the server draw one."""
    params = {wire: settings[name] for name, wire in PARAMS.items()}
    params["seed"] = settings["seed"] if settings["seed"] >= 0 else None
    return params


def layer_name(seed: int) -> str:
    return f"PIXELS edit (seed {seed})"
