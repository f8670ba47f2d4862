#@script(language="Python (pyimagej)")
# Fiji Python mode: File > Import > colocalize TIFF (Python mode).
# Runs colocalize's "colocalize TIFF..." command: the same handler as the menu entry
# of the Colocalize_Bridge.jar shim, in Fiji's own CPython. colocalize must be installed in
# Fiji's Python environment (Edit > Options > Python..., pip dependency "colocalize[imagej]").
from colocalize.imagej._fiji import run_in_python_mode

run_in_python_mode("import_tiff")
