"""`python -m guidepdf` runs the command line."""

from .cli import main

main()
