"""The control plane's actions, one module per procedure of the operations plan."""
