#@script(language="Python (pyimagej)")
# Fiji Python mode: Analyze > Colocalization > Coloc CCF and ICA (Python mode).
# Runs colocalize's "Coloc CCF and ICA..." command: the same handler as the menu entry
# of the Colocalize_Bridge.jar shim, in Fiji's own CPython. colocalize must be installed in
# Fiji's Python environment (Edit > Options > Python..., pip dependency "colocalize[imagej]").
from colocalize.imagej._fiji import run_in_python_mode

run_in_python_mode("diagnostics")
