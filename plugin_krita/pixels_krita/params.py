"""The edit settings a user picks in the docker, and how they go on the wire.

Names and meanings are the protocol's (docs/protocol.md); only those the docker shows
are sent, so the server's defaults hold for the rest.
"""

from dataclasses import asdict, dataclass, replace

THRESHOLDS = ("linear", "quadratic", "cubic", "log", "sigmoid")
MAX_SEED = 2**63 - 1  # the protocol's; the server draws random seeds from this range

# Where an exemplar's edit map comes from (a grey layer is GREY_LAYER + its unique id).
MAP_AUTO = "auto"  # the server ramps from the layer's alpha over `transition` pixels
MAP_MASK = "mask"  # the layer's own transparency or selection mask
MAP_SELECTION = "selection"  # the document's selection
GREY_LAYER = "layer:"


@dataclass(frozen=True)
class Params:
    prompt: str = ""
    strength: float = 0.6
    steps: int = 30
    seed: int | None = None  # None: the server draws one and reports it
    threshold: str = "linear"
    transition: float = 32.0

    def __post_init__(self):
        if not 0.0 < self.strength <= 1.0:
            raise ValueError("strength must be above 0 and at most 1")
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED}")
        if self.threshold not in THRESHOLDS:
            raise ValueError(f"threshold must be one of {', '.join(THRESHOLDS)}")
        if self.transition < 0:
            raise ValueError("transition must not be negative")

    def wire(self) -> dict:
        """The `params` of an edit request."""
        return asdict(self)

    def with_seed(self, seed: int) -> "Params":
        """The settings that reproduce a result: its actual seed fixed."""
        return replace(self, seed=seed)

    def summary(self) -> str:
        """One line for the history list."""
        text = f"strength {self.strength:g}, {self.steps} steps, {self.threshold}"
        return f'{text}, "{self.prompt}"' if self.prompt else text
