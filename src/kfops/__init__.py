"""kfops: install and operate the Kubeflow platform on Kubernetes from one file."""

__version__ = "0.1.0"
