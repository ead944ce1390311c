"""inr_amr_apps: the applications built on :mod:`inr_amr_core`.

The ``inr-amr`` command line (:mod:`.cli`), the ParaView launchers (:mod:`.launch`), the main job
(:mod:`.demo`), the paper's experiments (:mod:`.reproduce`, :mod:`.experiments`, :mod:`.plotting`),
and the embedded demo INRs with the phantoms and training code that made them (:mod:`.phantoms`,
:mod:`.training`, ``data/``). They call only the core's public API; the core imports none of them.
"""

__all__: list[str] = []
