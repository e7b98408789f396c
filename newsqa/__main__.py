"""``python -m newsqa`` runs the command-line interface."""

from .cli import main

main()
