"""The cect data files the C. elegans sources read, and how to cite them."""

from __future__ import annotations

from connectomedb.loaders.wheels import CECT_VERSION

PARSER_VERSION = "celegans-1"
SPECIES = "Caenorhabditis elegans"
LICENSE = "MIT (license of the cect package that distributes these files)"
SOURCE = f"cect {CECT_VERSION} wheel (PyPI), package data"

DATA = "cect/data/"
CELL_INFO = DATA + "all_cell_info.csv"
NT_ATLAS = DATA + "elife-95402-supp2-v1.xlsx"
NT_SHEET = "Supp File 2"
COOK = DATA + "SI 5 Connectome adjacency matrices, corrected July 2020.xlsx"
COOK_CHEM_SHEET = "hermaphrodite chemical"
COOK_GAP_SHEET = "hermaphrodite gap jn symmetric"
WITVLIET = {
    1: DATA + "witvliet_2020_1 L1.xlsx",
    2: DATA + "witvliet_2020_2 L1.xlsx",
    3: DATA + "witvliet_2020_3 L1.xlsx",
    4: DATA + "witvliet_2020_4 L1.xlsx",
    5: DATA + "witvliet_2020_5 L2.xlsx",
    6: DATA + "witvliet_2020_6 L3.xlsx",
    7: DATA + "witvliet_2020_7 adult.xlsx",
    8: DATA + "witvliet_2020_8 adult.xlsx",
}
WITVLIET_STAGE = {1: "L1", 2: "L1", 3: "L1", 4: "L1", 5: "L2", 6: "L3", 7: "adult", 8: "adult"}
VARSHNEY = DATA + "NeuronConnectFormatted.xlsx"
WHITE = DATA + "aconnectome_white_1986_whole.csv"

CITE_CECT = (
    "Gleeson P. et al. C. elegans Connectome Toolbox (cect), OpenWorm, "
    "https://github.com/openworm/ConnectomeToolbox."
)
CITE_WANG = (
    "Cell neurotransmitters: Wang C, Vidal B, Sural S, et al. A neurotransmitter atlas of "
    "C. elegans males and hermaphrodites. eLife 13:RP95402 (2024). doi:10.7554/eLife.95402."
)
CITE_COOK = (
    "Cook SJ, Jarrell TA, Brittin CA, Wang Y, Bloniarz AE, Yakovlev MA, Nguyen KCQ, "
    "Tang LT-H, Bayer EA, Duerr JS, Buelow HE, Hobert O, Hall DH, Emmons SW. Whole-animal "
    "connectomes of both Caenorhabditis elegans sexes. Nature 571, 63-71 (2019). "
    "doi:10.1038/s41586-019-1352-7."
)
CITE_WITVLIET = (
    "Witvliet D, Mulcahy B, Mitchell JK, Meirovitch Y, Berger DR, Wu Y, Liu Y, Koh WX, "
    "Parvathala R, Holmyard D, Schalek RL, Shavit N, Chisholm AD, Lichtman JW, Samuel ADT, "
    "Zhen M. Connectomes across development reveal principles of brain maturation. "
    "Nature 596, 257-261 (2021). doi:10.1038/s41586-021-03778-8."
)
CITE_VARSHNEY = (
    "Varshney LR, Chen BL, Paniagua E, Hall DH, Chklovskii DB. Structural properties of the "
    "Caenorhabditis elegans neuronal network. PLoS Comput Biol 7(2): e1001066 (2011). "
    "doi:10.1371/journal.pcbi.1001066."
)
CITE_WHITE = (
    "White JG, Southgate E, Thomson JN, Brenner S. The structure of the nervous system of "
    "the nematode Caenorhabditis elegans. Phil Trans R Soc Lond B 314, 1-340 (1986). "
    "doi:10.1098/rstb.1986.0056. As re-analysed in " + CITE_VARSHNEY
)
