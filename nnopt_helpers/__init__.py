"""Everything around the exercises of the nnopt course, and never an answer to one.

Modules: ``surfaces`` (loss surfaces with gradients and Hessians), ``data`` (digits,
spirals, moons, shifted data, minibatches), ``nets`` (a small NumPy MLP and plain SGD),
``gradcheck`` (numerical gradients), ``plots`` (figures), ``widgets`` (interactive explorers),
``checks`` (visible self-checks).
"""
