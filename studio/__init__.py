"""Snail Studio: a desktop art studio for local latent diffusion."""

__version__ = "0.1.0"
