"""Start an IPython kernel inside the sandbox: ``python -I boot_kernel.py LIB_DIR -f CONNECTION_FILE``.

``-I`` keeps the submission's directory and the environment's PYTHON* variables off the import
path; the kernel additionally never adds its cwd (``ignore_cwd``), so a ``numpy.py`` beside the
notebook cannot shadow numpy. Only the lib dir (the sandbox's copies of ``autograder`` and
``nnopt_helpers``) is put in front of site-packages.
"""

import sys

lib = sys.argv.pop(1)
sys.path[:] = [p for p in sys.path if p not in ("", ".")]
sys.path.insert(0, lib)

from ipykernel import kernelapp  # noqa: E402

kernelapp.launch_new_instance(argv=sys.argv[1:] + ["--IPKernelApp.ignore_cwd=True"])
