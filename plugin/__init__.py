"""inr_amr_paraview: the ParaView layer of INR-AMR (the ``plugin/`` folder of a checkout).

It only declares the reader's user interface (``proxy/properties.py``, generated from the parameter
schema) and forwards to ``inr_amr_core`` (``proxy/reader.py``). ParaView loads the entry file
``inr_amr_plugin.py`` next to this one; ``site/`` holds the start-up fix Debian's ParaView 5.11
needs, ``pvscripts/`` the pvbatch scripts of the applications.
"""
