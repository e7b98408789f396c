"""``python -m newsqa`` runs the command-line interface."""

from .faces.cli import main

main()
