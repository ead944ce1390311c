"""The reader's ServerManager proxy: its properties (generated from the schema) and its pipeline methods.

A sub-package, not modules beside ``inr_amr_plugin.py``: ParaView loads every ``.py`` file of a
folder on ``PV_PLUGIN_PATH`` as a plugin, and only the entry file may register the reader.
"""
