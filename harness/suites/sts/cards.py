"""Data cards of the STS datasets: STS Benchmark, SemEval STS 2012-2016 (English) and SICK-R.

One table says how each dataset is read (``LAYOUTS``: its format and, in reading order, the parts
it is read from); the card members and the reader's file order both come from it, so they cannot
drift apart. Pair order is reading order: parts in table order, lines in file order.

What is read, and why:

- ``stsb``: ``sts-test.csv`` of the official STS Benchmark release (Cer et al., SemEval 2017),
  1,379 pairs, as MTEB's ``STSBenchmark`` and SentEval's ``STSBenchmark`` test split.
- ``sts12`` ... ``sts16``: the official SemEval English test releases, one input and one gold file
  per subset (``SEMEVAL_SUBSETS``), pooled into one set as MTEB's ``STS12``-``STS16`` tasks pool
  them (``mteb/sts1{2..6}-sts``, one Spearman over all pairs). STS12 is read from its five subsets,
  not from ``STS.gs.ALL.txt`` (which holds the gold scores only). STS13 leaves out ``SMT``: its gold
  file ships but its input text may not be redistributed (LDC). STS15 and STS16 gold files leave
  unscored pairs empty; those pairs are skipped, so their counts are of scored pairs.
- ``sickr``: all of SICK (train, trial, test: 9,927 pairs), which is how MTEB's ``SICK-R`` is
  scored (``mteb/sickr-sts`` holds all 9,927 pairs in its test split); ``sickr-test``: the 4,927
  test pairs only, SentEval's ``SICKRelatedness`` test split.

Member sha256s were computed from the copies in ``shared/data/sts`` (MANIFEST.md §2, also listed
in its ``SHA256SUMS``), whose pair counts equal the published ones; ``sentences`` is the number of
distinct sentence strings over both sides of all pairs read, text kept exactly as in the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.data.cards import DatasetCard, SplitCard

Format = Literal["stsb", "semeval", "sick"]
"""``stsb``: STS Benchmark csv (tab-separated, no quoting); ``semeval``: input + gold file per
subset; ``sick``: SICK tab-separated rows without a header line."""

SPLIT = "test"
"""The one split each STS dataset is scored on."""

STS_WIKI = "http://ixa2.si.ehu.eus/stswiki"
STSB_URL = "http://ixa2.si.ehu.eus/stswiki/index.php/STSbenchmark"
SICK_URL = "https://marcobaroni.org/composes/sick.html"

SEMEVAL_SUBSETS: dict[str, tuple[str, ...]] = {
    "sts12": ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    "sts13": ("FNWN", "headlines", "OnWN"),  # SMT: gold scores only, input text not redistributable
    "sts14": ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),
    "sts15": ("answers-forums", "answers-students", "belief", "headlines", "images"),
    "sts16": ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}
"""The subsets pooled into each SemEval set, in reading order (the order of the official readmes)."""


@dataclass(frozen=True)
class Part:
    """One unit of reading: its name (the prefix of its pair ids) and the files it is read from.

    SemEval parts are a subset, read from ``(input, gold)``; STS-B and SICK parts are one file, named
    by its stem (``sts-test``, ``SICK_train``).
    """

    name: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    """How one STS dataset is read: its format, its folder under the data root, and its parts in order."""

    format: Format
    folder: str
    parts: tuple[Part, ...]

    @property
    def members(self) -> tuple[str, ...]:
        """Every file read, relative to the dataset folder, in reading order."""
        return tuple(name for part in self.parts for name in part.files)


def semeval_part(name: str, subset: str) -> Part:
    """The input and gold files of one SemEval subset (STS16 names them ``STS2016.*``)."""
    prefix = "STS2016" if name == "sts16" else "STS"
    return Part(subset, (f"{prefix}.input.{subset}.txt", f"{prefix}.gs.{subset}.txt"))


def _file(name: str) -> Part:
    return Part(name.rsplit(".", 1)[0], (name,))


_SICK = ("SICK_train.txt", "SICK_trial.txt", "SICK_test_annotated.txt")

LAYOUTS: dict[str, Layout] = {
    "stsb": Layout("stsb", "stsbenchmark", (_file("sts-test.csv"),)),
    **{
        name: Layout("semeval", f"STS{name[3:]}-en-test", tuple(semeval_part(name, s) for s in subsets))
        for name, subsets in SEMEVAL_SUBSETS.items()
    },
    "sickr": Layout("sick", "SICK", tuple(_file(name) for name in _SICK)),
    "sickr-test": Layout("sick", "SICK", (_file("SICK_test_annotated.txt"),)),
}
"""Dataset name -> how it is read; the single source of its members and their order."""

_STSB = {
    "sts-test.csv": "affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a",
}

_STS12 = {
    "STS.input.MSRpar.txt": "76bf7089f9e7c05732163a227b3ce679512554513eb783f2548b07d659bd733d",
    "STS.gs.MSRpar.txt": "5526be59228bc34ccb3cb6f1f56c0d7278d3419b8886713ae016fd92b151f19c",
    "STS.input.MSRvid.txt": "476d14034a241f71b832e4ae557dd6cdbe265b57c915570a2583f93b4456948d",
    "STS.gs.MSRvid.txt": "9c6096c6bcfb0144c8bbddb00900ca9198c88498630cd0c8f08d18365f1d7150",
    "STS.input.SMTeuroparl.txt": "dd31dbb6e7eef8a0d00347fe012f7cf372943167e30f60f6fb3b10219a41941f",
    "STS.gs.SMTeuroparl.txt": "708530c4d006d06881f3289fce35d624d7efe562dcf0fe5f8aa0eec3a135f6d4",
    "STS.input.surprise.OnWN.txt": "07ec7b91348aece0873b41f7fc4e76e9fddf05bdb82c048c98d92f5db0bec07d",
    "STS.gs.surprise.OnWN.txt": "088d8ca22c0aa406e4a5d2e6e308a4f38b482b8e736c2445a38ffb6e4c4fb4fd",
    "STS.input.surprise.SMTnews.txt": "2788a98ef33c3b7b704ef4891fe863cfcf061338e8aa41cb737d0f137f3ba03c",
    "STS.gs.surprise.SMTnews.txt": "aa6dfc868db333c43dc59be14d46fa6587c7ebddc0d497e717f647bf35121cf1",
}

_STS13 = {
    "STS.input.FNWN.txt": "b48fc64cd85703ac6431f8ea6722f325fe9620fd4f33b3d5c24dd89c553e74bc",
    "STS.gs.FNWN.txt": "8ca95b7228119578e2007839cf7969f22c4f1fd41fd610c4b7f9683072d98066",
    "STS.input.headlines.txt": "885e6149fff28a79591ba464c13626d03593b822c88c7c04b6564354d31c7561",
    "STS.gs.headlines.txt": "f49f64089011436dd296ef384c07160219406feef7dc4b9fa2af52a519f32bc6",
    "STS.input.OnWN.txt": "127c66889627f26dc11864dc9be4ba1e4895ed60125985c755429ad588e4b9c8",
    "STS.gs.OnWN.txt": "0cd497aaddb00a2fb6db25f77bccfc09e8aa012e11549b81b434bab1a27ad954",
}

_STS14 = {
    "STS.input.deft-forum.txt": "8b48aa15bb850e2827446f6e98cc3c5123ff283924b4571a409aa2fab73e35c6",
    "STS.gs.deft-forum.txt": "ba6dc76696b5c93985590a325b4d142449932cdf0d715b2bab1b1743fe3c488c",
    "STS.input.deft-news.txt": "92df5b8c48873cbfba36b73a77955fb965c9244776df9e9c2c4d2f6155bdeefe",
    "STS.gs.deft-news.txt": "105c5b333abd50c274efb4dae9e3e0dab36ed63eee780cfb49955b1586bd62f2",
    "STS.input.headlines.txt": "a19f84294325c62a2a403b59957196fd7737f86654ded0e04e0b54bc4a8bcf9e",
    "STS.gs.headlines.txt": "f243c34647255cd0b994565ed4f58dd31506e7d9c9d6250d1a6dd14095625832",
    "STS.input.images.txt": "cec1b3c08b0e4c88aeaf8dca047f5b28f4a8588eeef58475e0f16491d2bb7193",
    "STS.gs.images.txt": "fc994ebacc7074c332626fa9e29542d7340a48a3cdb999b47cdb59c378523a62",
    "STS.input.OnWN.txt": "a227d5fe1c1f729a52a0b39b5b36d3225e1bca3c278e7ed392cac2ecd3990f1c",
    "STS.gs.OnWN.txt": "1c80147df270ea4cfce14a47ed29f8a2f10d5dc016d02836077fd786ff7f535b",
    "STS.input.tweet-news.txt": "250d29ec9394e35443b2a73016ccc55e11b20939a3b8ee3bea9a858ba2f9adc0",
    "STS.gs.tweet-news.txt": "0098c644bfeaa2d511a8297b1940771865900c372c9dd49a62726dc5ec02c9a3",
}

_STS15 = {
    "STS.input.answers-forums.txt": "fe8e460a74e8e38704ac4e6ddcedec89fd6e51cd0467d6f4301b444b259688e1",
    "STS.gs.answers-forums.txt": "1644301a7540e5484da285002e9269062852efb2272be614cad99c9530f6a102",
    "STS.input.answers-students.txt": "16eedf46fb3b29822b275a0ddcff8e873a6eb4bafba244a17c4049ffc318d62a",
    "STS.gs.answers-students.txt": "028db213140f8c7aef7497c4ae38b6380938f20359852231669c83dce11c3701",
    "STS.input.belief.txt": "6e924a19fb1abbce01a8666f07766250b46a96c89272de8e5b01d0905bc61b79",
    "STS.gs.belief.txt": "5736192faaccbdbecd0ef6b73ec04b24115cd2e48d55dc3b1b170da3d2a81c75",
    "STS.input.headlines.txt": "779c195c54b72282bd3c8ca1dbb09a4155a39b2acd13d5cf819d8555d717cf6a",
    "STS.gs.headlines.txt": "e8e432f769c8a94ddb62ae3343890ac24a9dd78a116d56c707313bc59413dd56",
    "STS.input.images.txt": "6f332542a75bcd18ea1442fc129306f746cd7ade7010ea274e763bfca576cc47",
    "STS.gs.images.txt": "ed8878209098c77ca7f02ac413d3fd698f92ad3425999555e50fda89fc46012a",
}

_STS16 = {
    "STS2016.input.answer-answer.txt": "7daf2cd87751a0f8b754fe705bdb280c31591d9febf5b6fce9dcb10d3b8a72a7",
    "STS2016.gs.answer-answer.txt": "332efd741b0cb247d20dd2a6cec854360c921c7e6b395f328f562d8d26057214",
    "STS2016.input.headlines.txt": "ec8ee1124e71f4cc18c861f542fa8f32c86fef0703de31b0f7a02e22e935d992",
    "STS2016.gs.headlines.txt": "01e33a95996201a6e81e3cce9eda0f15048b77613ea64dce2929bb35479f7d85",
    "STS2016.input.plagiarism.txt": "6760cb210f4423262fd8962674e6668409690ce888bb1617659c6886cf004019",
    "STS2016.gs.plagiarism.txt": "29984944a91aaff484f2b2e5d4d434fc8a6f5ef6f578a880cccd2786f5142fdc",
    "STS2016.input.postediting.txt": "a8a66185877785307803c99a0899d65aefb062c4bf7689560b95d37bb0c05474",
    "STS2016.gs.postediting.txt": "81947ed9dbe7f85b7bd249df68ed5c7b2f16f06390ad568eb5554b1e26bc5577",
    "STS2016.input.question-question.txt": "b7f95dead3d8c59fbaacbb135643c6ebd322682db6502fdb24d4ce83c9bf016d",
    "STS2016.gs.question-question.txt": "cf9ebf9d140191f73620cda0560947ad9283c910735d0d541b8a401a5e64afb0",
}

_SICK_FILES = {
    "SICK_train.txt": "f4d128aad59deb5f3d539a97fb8bf23ee111df99c904387b5025c69b7fc31b81",
    "SICK_trial.txt": "5e24b7fb1639e20a9c39f34dd2868e0cd05abbddce749063224a822109b9038c",
    "SICK_test_annotated.txt": "a7b22f10009c0094f213d7ad721152c5d0b63225c9e440fe1d754dbc61b0f21b",
}

_SHA256: dict[str, dict[str, str]] = {
    "stsbenchmark": _STSB,
    "STS12-en-test": _STS12,
    "STS13-en-test": _STS13,
    "STS14-en-test": _STS14,
    "STS15-en-test": _STS15,
    "STS16-en-test": _STS16,
    "SICK": _SICK_FILES,
}
"""Folder -> member -> sha256 of the checked copies (shared/data/sts, MANIFEST.md §2)."""

_COUNTS: dict[str, dict[str, int]] = {
    "stsb": {"pairs": 1379, "sentences": 2552},
    "sts12": {"pairs": 3108, "sentences": 4964},
    "sts13": {"pairs": 1500, "sentences": 2644},
    "sts14": {"pairs": 3750, "sentences": 6384},
    "sts15": {"pairs": 3000, "sentences": 5183},
    "sts16": {"pairs": 1186, "sentences": 1870},
    "sickr": {"pairs": 9927, "sentences": 6077},
    "sickr-test": {"pairs": 4927, "sentences": 5007},
}
"""Scored pairs (the published counts) and distinct sentence strings over both sides."""

_LICENCES: dict[str, str] = {
    "stsbenchmark": (
        "scores CC BY-SA 4.0; sentence text under the licence of each source (stsbenchmark/LICENSE.txt)"
    ),
    "STS12-en-test": (
        "text under Microsoft Research licence terms (MSRpar, MSRvid) and others (00-readme.txt)"
    ),
    "STS13-en-test": "text licences vary by subset (00-readme.txt); SMT input is LDC-only",
    "STS14-en-test": (
        "text licences vary by subset: EMM headlines, DEFT, CC BY-SA image captions (00-readme.txt)"
    ),
    "STS15-en-test": (
        "text licences vary by subset; answers-forums CC BY-SA 3.0 (STS.input.answers-forums.LICENSE)"
    ),
    "STS16-en-test": "text licences vary by subset; Stack Exchange text CC BY-SA 3.0 (LICENSE.txt)",
    "SICK": "CC BY-NC-SA 3.0 as generally distributed (no licence file ships with this copy)",
}

_MARKERS: dict[str, str] = {
    "stsbenchmark": "sts-test.csv",
    "SICK": "SICK_test_annotated.txt",
}


def sts_card(name: str) -> DatasetCard:
    """The card of one dataset of ``LAYOUTS``: its members and counts for the ``test`` split."""
    layout = LAYOUTS[name]
    folder = layout.folder
    url = {"stsbenchmark": STSB_URL, "SICK": SICK_URL}.get(folder, STS_WIKI)
    return DatasetCard(
        id=f"sts/{name}",
        name=name,
        locations=(f"sts/{folder}", f"sts/{folder}.zip", folder),
        marker=_MARKERS.get(folder, layout.members[0]),
        licence=_LICENCES[folder],
        url=url,
        splits={
            SPLIT: SplitCard(
                members={member: _SHA256[folder][member] for member in layout.members},
                counts=_COUNTS[name],
            )
        },
        archive_md5=None,
    )


CARDS: dict[str, DatasetCard] = {name: sts_card(name) for name in LAYOUTS}
