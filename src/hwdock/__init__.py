"""hwdock: build and run the container image that fits this machine's GPUs."""

__version__ = "0.1.0"
