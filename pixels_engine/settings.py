"""The parameters of one edit, as the engine takes them: one field for each parameter of
the contract (pixels_contract.schema), with the schema's defaults and checks."""

from dataclasses import asdict, dataclass

from pixels_contract import schema

from .errors import PixelsError
from .maps import MapOps

DEFAULT = schema.DEFAULTS


@dataclass(frozen=True)
class EditSettings:
    prompt: str = DEFAULT["prompt"]
    negative_prompt: str = DEFAULT["negative_prompt"]
    guidance: float = DEFAULT["guidance"]
    guidance_rescale: float = DEFAULT["guidance_rescale"]
    strength: float = DEFAULT["strength"]  # share of the schedule that is run
    steps: int = DEFAULT["steps"]
    seed: int | None = DEFAULT["seed"]  # None draws one; the one used is reported
    threshold: str = DEFAULT["threshold"]
    mode: str = DEFAULT["mode"]  # "chain": one exemplar after another
    context: float = DEFAULT["context"]  # margin around the changing area, x its longer side
    transition: float = DEFAULT["transition"]  # pixels, for maps made from alpha
    invert: bool = DEFAULT["invert"]
    levels: tuple[float, float] = DEFAULT["levels"]
    gamma: float = DEFAULT["gamma"]
    grow: int = DEFAULT["grow"]
    feather: float = DEFAULT["feather"]
    quantise: int = DEFAULT["quantise"]

    def validate(self, family: str | None = None) -> None:
        """PixelsError naming the field (its schema name) of the first value the contract
        does not allow, for a model family (its schema name) or any model."""
        try:
            schema.parse(asdict(self), family)
        except schema.Invalid as e:
            raise PixelsError(e.text, e.field) from None

    @property
    def map_ops(self) -> MapOps:
        low, high = self.levels
        return MapOps(self.invert, low, high, self.gamma, self.grow, self.feather, self.quantise)
