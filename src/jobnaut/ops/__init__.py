"""The control plane: deploys releases and rolls them back as the operations plan describes.

Each action is an importable function that returns a result; the CLI only parses and renders.
"""
