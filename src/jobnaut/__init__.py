"""JobNaut: a job-search platform and the control plane that deploys and rolls it back."""

__version__ = "0.1.0"
