"""C. elegans connectomes from the data files of the pinned ``cect`` wheel (ConnectomeToolbox).

The package itself is never imported; ``wheels`` reads the files from the wheel's zip.
"""

from connectomedb.loaders.celegans.catalog import CellCatalog
from connectomedb.loaders.celegans.cook import Cook2019HermSource
from connectomedb.loaders.celegans.edgelists import White1986Source, WitvlietSource
from connectomedb.loaders.celegans.names import UNSPLIT_BODY_WALL_MUSCLE, canonical_name
from connectomedb.loaders.celegans.provenance import PARSER_VERSION
from connectomedb.loaders.celegans.varshney import VarshneySource

__all__ = [
    "PARSER_VERSION",
    "UNSPLIT_BODY_WALL_MUSCLE",
    "CellCatalog",
    "Cook2019HermSource",
    "VarshneySource",
    "White1986Source",
    "WitvlietSource",
    "canonical_name",
]
